// The sluice status page. Polls GET /v1/status (common/status.ts) every second, keeps the last five
// minutes of each revision's pods, concurrency and requests per second in memory, and draws them
// with uPlot (loaded before this script as the global `uPlot`); lists the components `sluice up`
// runs and eventing's Brokers, Triggers and sources with their counts. Plain DOM, no framework.

const POLL_MS = 1000;
const HISTORY_SECONDS = 300;
const MIN_WINDOW_SECONDS = 60;
const CHART_HEIGHT = 150;
const PALETTE = ["#2f6fde", "#1b873f", "#b26b00", "#8e44ad", "#c62828", "#00838f", "#6d4c41", "#546e7a"];

/**
 * The API's bearer token, when the autoscaler has one (SLUICE_TOKEN): given once as the URL
 * fragment, /#token=…, which browsers never send to a server; kept for this tab only and taken
 * out of the address bar and history at once.
 */
const TOKEN_KEY = "sluice-token";
const fragmentToken = new URLSearchParams(location.hash.slice(1)).get("token");
if (fragmentToken) {
  sessionStorage.setItem(TOKEN_KEY, fragmentToken);
  history.replaceState(null, "", location.pathname + location.search);
}
const token = sessionStorage.getItem(TOKEN_KEY);
const apiHeaders = token ? { authorization: `Bearer ${token}` } : {};

const uPlot = globalThis.uPlot;
const servicesEl = document.getElementById("services");
const componentsEl = document.getElementById("components");
const componentRowsEl = document.getElementById("component-rows");
const emptyEl = document.getElementById("empty");
const bannerEl = document.getElementById("banner");
const updatedEl = document.getElementById("updated");
const capacityEl = document.getElementById("capacity");

/** Service key ("namespace/name") → {el, split, revisionsEl, revisions: Map<name, RevisionView>}. */
const serviceViews = new Map();

/** Creates an element with a class and text; `children` are appended. */
function h(tag, className, text, ...children) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined && text !== null) el.textContent = text;
  for (const child of children) el.append(child);
  return el;
}

/** A stable colour per revision name, the same in the split bar and its legend. */
function colour(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function round(value) {
  return value >= 10 ? value.toFixed(0) : value.toFixed(value === 0 ? 0 : 2);
}

// ---- charts ---------------------------------------------------------------------------------

const stepped = uPlot.paths.stepped({ align: 1 });

/** The three charts of a revision: what each plots, from which history column. */
const CHARTS = [
  {
    title: "pods",
    series: [
      { label: "ready", key: "ready", stroke: "#1b873f", paths: stepped },
      { label: "desired", key: "desired", stroke: "#6b7280", dash: [6, 4], paths: stepped },
      // Wanted but waiting for room on the machine (the local platform's capacity).
      { label: "pending", key: "pending", stroke: "#b26b00", dash: [2, 3], paths: stepped },
    ],
  },
  {
    title: "concurrency",
    series: [
      { label: "now", key: "concurrency", stroke: "#2f6fde" },
      { label: "stable window", key: "stableConcurrency", stroke: "#0b2f6b", dash: [6, 4] },
      { label: "panic window", key: "panicConcurrency", stroke: "#b26b00", dash: [2, 3] },
    ],
  },
  {
    title: "requests/s",
    series: [
      { label: "now", key: "rps", stroke: "#8e44ad" },
      { label: "stable window", key: "stableRps", stroke: "#4a235a", dash: [6, 4] },
    ],
  },
];

const COLUMNS = ["time", ...new Set(CHARTS.flatMap((chart) => chart.series.map((s) => s.key)))];

function makeChart(spec, container, history) {
  return new uPlot(
    {
      title: spec.title,
      width: Math.max(200, container.clientWidth),
      height: CHART_HEIGHT,
      scales: {
        // A window that scrolls: at least the last minute, growing to the five minutes kept.
        x: {
          time: true,
          range: (_u, min, max) => [
            max - Math.min(HISTORY_SECONDS, Math.max(MIN_WINDOW_SECONDS, max - min)),
            max,
          ],
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      series: [
        {},
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          dash: s.dash,
          paths: s.paths,
          value: (_u, v) => (v === null || v === undefined ? "–" : round(v)),
        })),
      ],
      axes: [{}, { size: 44 }],
      cursor: { drag: { x: false, y: false } },
    },
    chartData(spec, history),
    container,
  );
}

function chartData(spec, history) {
  return [history.time, ...spec.series.map((s) => history[s.key])];
}

// ---- revisions ------------------------------------------------------------------------------

function createRevisionView(parent) {
  const history = Object.fromEntries(COLUMNS.map((column) => [column, []]));
  const name = h("h3");
  const mode = h("span", "badge");
  const panic = h("span", "badge panic", "panic");
  const numbers = h("span", "muted");
  const failure = h("div", "failure");
  const charts = h("div", "charts");
  const el = h("div", "revision", null, h("div", "revision-head", null, name, mode, panic, numbers), failure);
  el.append(charts);
  parent.append(el);
  const plots = CHARTS.map((spec) => {
    const container = h("div", "chart");
    charts.append(container);
    return { spec, container, plot: makeChart(spec, container, history) };
  });
  const resize = new ResizeObserver(() => {
    for (const { container, plot } of plots)
      plot.setSize({ width: Math.max(200, container.clientWidth), height: CHART_HEIGHT });
  });
  resize.observe(charts);
  return { el, name, mode, panic, numbers, failure, plots, history, resize };
}

function updateRevisionView(view, revision, time) {
  view.el.dataset.revision = revision.name;
  view.name.textContent = revision.name;
  view.mode.textContent = revision.mode;
  view.mode.className = `badge ${revision.mode}`;
  view.panic.hidden = !revision.autoscaling.panicking;
  const limit = revision.containerConcurrency === 0 ? "unlimited" : revision.containerConcurrency;
  const pending = revision.pendingPods ?? 0;
  view.numbers.textContent =
    `pods ${revision.readyPods}/${revision.desiredPods} ready` +
    (pending > 0 ? ` · ${pending} pending` : "") +
    ` · concurrency ${round(revision.concurrency.stable ?? revision.concurrency.current)}` +
    ` · ${round(revision.rps.current)} req/s` +
    ` · containerConcurrency ${limit}` +
    ` · ${revision.autoscaling.metric} target ${revision.autoscaling.target}`;
  view.failure.hidden = !revision.failure;
  if (revision.failure) {
    view.failure.replaceChildren(
      h("strong", null, revision.failure.reason),
      h("pre", null, revision.failure.logs.join("\n")),
    );
  }

  const row = {
    time,
    desired: revision.desiredPods,
    ready: revision.readyPods,
    pending: revision.pendingPods ?? 0,
    concurrency: revision.concurrency.current,
    stableConcurrency: revision.concurrency.stable ?? null,
    panicConcurrency: revision.concurrency.panic ?? null,
    rps: revision.rps.current,
    stableRps: revision.rps.stable ?? null,
  };
  const { history } = view;
  for (const column of COLUMNS) history[column].push(row[column]);
  while (history.time.length > 0 && history.time[0] < time - HISTORY_SECONDS) {
    for (const column of COLUMNS) history[column].shift();
  }
  view.el.dataset.points = String(history.time.length);
  for (const { spec, plot } of view.plots) plot.setData(chartData(spec, history));
}

function removeRevisionView(view) {
  view.resize.disconnect();
  for (const { plot } of view.plots) plot.destroy();
  view.el.remove();
}

// ---- components -----------------------------------------------------------------------------
// The processes `sluice up` supervises, as it last reported them; absent when the autoscaler runs
// on its own, and then the section stays hidden.

/** "850 ms", "12 s", "4 min 2 s", "3 h 5 min": how long a run lasted. */
function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function lastExitText(exit) {
  if (!exit) return "–";
  return `${exit.code} at ${new Date(exit.at).toLocaleTimeString()}, ran ${duration(exit.ranForMs)}`;
}

function renderComponents(components) {
  componentsEl.hidden = !components;
  if (!components) return;
  componentRowsEl.replaceChildren(
    ...components.map((component) => {
      const exit = h("td", null, lastExitText(component.lastExit));
      // The dead run's last words, on hover: why it exited, often.
      if (component.lastExit?.lastLines.length) exit.title = component.lastExit.lastLines.join("\n");
      const row = h(
        "tr",
        null,
        null,
        h("td", null, component.name),
        h("td", null, null, h("span", `badge ${component.state}`, component.state)),
        h("td", "number", component.pid === undefined ? "–" : String(component.pid)),
        h("td", "number", String(component.restarts)),
        exit,
      );
      row.dataset.component = component.name;
      return row;
    }),
  );
}

// ---- eventing -------------------------------------------------------------------------------
// Brokers, Triggers and sources as the autoscaler read them from eventing for this snapshot;
// absent when the autoscaler is not told where eventing is, and then the section stays hidden.

const eventingEl = document.getElementById("eventing");
const eventingErrorEl = document.getElementById("eventing-error");
const EVENTING_TABLES = {
  brokers: [document.getElementById("brokers"), document.getElementById("broker-rows")],
  triggers: [document.getElementById("triggers"), document.getElementById("trigger-rows")],
  sources: [document.getElementById("sources"), document.getElementById("source-rows")],
};

/** "name" in the default namespace, "namespace/name" elsewhere (as `sluice status` names them). */
function qualified(item) {
  return item.namespace === "default" ? item.name : `${item.namespace}/${item.name}`;
}

function count(item, key) {
  return h("td", "number", String(item.counts?.[key] ?? 0));
}

/** A source's name, with a badge when it is not running: failing (with the reason) or starting. */
function sourceName(source) {
  const cell = h("td", null, qualified(source));
  const status = source.status;
  if (!status || status.state === "running") return cell;
  const badge = h("span", `badge ${status.state === "failing" ? "failed" : "restarting"}`, status.state);
  badge.title = `since ${status.since}`;
  cell.append(" ", badge);
  if (status.reason) cell.append(h("div", "muted", status.reason));
  return cell;
}

function eventingRows(which, items, row) {
  const [section, body] = EVENTING_TABLES[which];
  section.hidden = items.length === 0;
  body.replaceChildren(...items.map(row));
}

function renderEventing(eventing) {
  eventingEl.hidden = !eventing;
  if (!eventing) return;
  eventingErrorEl.hidden = !eventing.error;
  eventingErrorEl.textContent = eventing.error ?? "";
  eventingRows("brokers", eventing.brokers ?? [], (broker) => {
    const row = h(
      "tr",
      null,
      null,
      h("td", null, qualified(broker)),
      h("td", null, null, h("code", null, broker.address.url)),
    );
    row.dataset.broker = `${broker.namespace}/${broker.name}`;
    return row;
  });
  eventingRows("triggers", eventing.triggers ?? [], (trigger) => {
    const row = h(
      "tr",
      null,
      null,
      h("td", null, qualified(trigger)),
      h("td", null, trigger.broker),
      h("td", null, trigger.subscriber),
      count(trigger, "accepted"),
      count(trigger, "delivered"),
      count(trigger, "retried"),
      count(trigger, "deadLettered"),
    );
    row.dataset.trigger = `${trigger.namespace}/${trigger.name}`;
    return row;
  });
  eventingRows("sources", eventing.sources ?? [], (source) => {
    const sink = h("td", null, source.sink);
    if (source.url) sink.title = `webhook: ${source.url}`;
    const row = h(
      "tr",
      null,
      null,
      sourceName(source),
      h("td", null, source.kind),
      sink,
      count(source, "delivered"),
      count(source, "retried"),
      count(source, "deadLettered"),
    );
    row.dataset.source = `${source.kind} ${source.namespace}/${source.name}`;
    return row;
  });
}

// ---- services -------------------------------------------------------------------------------

function createServiceView(key) {
  const title = h("h2");
  const hosts = h("span", "muted");
  const latest = h("span", "muted");
  const bar = h("div", "split-bar");
  const legend = h("ul", "split-legend");
  const split = h("div", "split", null, bar, legend);
  const revisionsEl = h("div", "revisions");
  const el = h("section", "service", null, h("div", "service-head", null, title, hosts, latest), split);
  el.append(revisionsEl);
  el.dataset.service = key;
  return { el, title, hosts, latest, bar, legend, revisionsEl, revisions: new Map() };
}

function updateServiceView(view, service, time) {
  view.title.textContent = service.name;
  view.hosts.textContent = service.hosts[0] ?? "";
  view.latest.textContent = `latest ready: ${service.latestReadyRevision ?? "none yet"}`;

  view.bar.replaceChildren(
    ...service.traffic
      .filter((target) => target.percent > 0)
      .map((target) => {
        const segment = h("div", "split-segment", `${target.revision} ${target.percent}%`);
        segment.style.width = `${target.percent}%`;
        segment.style.background = colour(target.revision);
        segment.title = `${target.revision}: ${target.percent}%${target.tag ? ` (tag ${target.tag})` : ""}`;
        return segment;
      }),
  );
  view.legend.replaceChildren(
    ...service.traffic.map((target) => {
      const swatch = h("span", "swatch");
      swatch.style.background = colour(target.revision);
      const tag = target.tag
        ? ` · tag ${target.tag}${target.tagHosts ? ` → ${target.tagHosts[0]}` : ""}`
        : "";
      return h("li", null, null, swatch, `${target.revision} ${target.percent}%${tag}`);
    }),
  );

  const seen = new Set();
  for (const revision of service.revisions) {
    seen.add(revision.name);
    let revisionView = view.revisions.get(revision.name);
    if (!revisionView) {
      revisionView = createRevisionView(view.revisionsEl);
      view.revisions.set(revision.name, revisionView);
    }
    updateRevisionView(revisionView, revision, time);
  }
  for (const [name, revisionView] of view.revisions) {
    if (seen.has(name)) continue;
    removeRevisionView(revisionView);
    view.revisions.delete(name);
  }
  // Newest first, as the snapshot lists them.
  view.revisionsEl.append(...service.revisions.map((revision) => view.revisions.get(revision.name).el));
}

function render(all) {
  // Services kept from an earlier run but not applied since run nothing: not shown here.
  const snapshot = { ...all, services: all.services.filter((service) => service.active !== false) };
  const time = snapshot.time / 1000;
  const seen = new Set();
  for (const service of snapshot.services) {
    const key = `${service.namespace}/${service.name}`;
    seen.add(key);
    let view = serviceViews.get(key);
    if (!view) {
      view = createServiceView(key);
      serviceViews.set(key, view);
      servicesEl.append(view.el); // attached before its charts are sized
    }
    updateServiceView(view, service, time);
  }
  for (const [key, view] of serviceViews) {
    if (seen.has(key)) continue;
    for (const revisionView of view.revisions.values()) removeRevisionView(revisionView);
    view.el.remove();
    serviceViews.delete(key);
  }
  servicesEl.append(...snapshot.services.map((s) => serviceViews.get(`${s.namespace}/${s.name}`).el));
  emptyEl.hidden = snapshot.services.length > 0;
  renderComponents(snapshot.components);
  renderEventing(snapshot.eventing);
  updatedEl.textContent = `${snapshot.domain} · updated ${new Date(snapshot.time).toLocaleTimeString()}`;
  renderCapacity(snapshot.capacity);
}

/** The local platform's room for pods (absent in a cluster): why pods wait as pending. */
function renderCapacity(capacity) {
  capacityEl.hidden = !capacity;
  if (!capacity) return;
  const pending = capacity.pending > 0 ? `, ${capacity.pending} pending` : "";
  capacityEl.textContent = `capacity: ${capacity.pods} of ${capacity.maxPods} pods${pending}; ${capacity.maxStarting} start at once`;
}

// ---- updates --------------------------------------------------------------------------------
// The state watch (Server-Sent Events) tells at once when traffic, pods or modes change; the
// once-a-second poll keeps the load figures and charts moving in between.

let pollTimer;
let polling = false;

function pollSoon(delayMs) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, delayMs);
}

async function poll() {
  if (polling) return pollSoon(POLL_MS);
  polling = true;
  try {
    const res = await fetch("/v1/status", { cache: "no-store", headers: apiHeaders });
    if (res.status === 401) throw new Error("this autoscaler needs its token: open this page as /#token=…");
    if (!res.ok) throw new Error(`GET /v1/status: ${res.status} ${await res.text()}`);
    render(await res.json());
    bannerEl.hidden = true;
  } catch (error) {
    bannerEl.textContent = `cannot reach the autoscaler (${error.message}); retrying every second`;
    bannerEl.hidden = false;
  } finally {
    polling = false;
    pollSoon(POLL_MS);
  }
}

// fetch rather than EventSource, which cannot send the token. Any event means "redraw now"; when
// the watch ends it is opened again after a second (polling carries on meanwhile).
async function watch() {
  try {
    const res = await fetch("/v1/state?watch=1", { cache: "no-store", headers: apiHeaders });
    if (!res.ok || !res.body) throw new Error(`state watch: ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      if (read.value.includes("event:")) pollSoon(20);
    }
  } catch {
    // The poll's banner already says when the autoscaler is unreachable.
  }
  setTimeout(watch, POLL_MS);
}
watch();

poll();
