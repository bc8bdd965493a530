// 20× overload through `sluice up`: 2,000 requests at a time against a capacity of 100 (5 pods ×
// containerConcurrency 20) for a few seconds. What does not fit in the pods and the activator's
// bounded queue gets a quick 503 with Retry-After; every component's memory stays bounded; every
// /healthz answers throughout; and afterwards the revision serves normally again.
import t from "tap";
import { Agent, request } from "undici";
import { appService } from "../helpers/autoscaler.ts";
import { describe, figures, startLoad } from "../helpers/load.ts";
import { findProcesses, rssMb } from "../helpers/proc.ts";
import { waitFor } from "../helpers/processes.ts";
import { startSluiceUp } from "../helpers/sluice-up.ts";

const PODS = 5;
const CAPACITY = 100;
const CONCURRENCY = 2000;
const LOAD_MS = 4000;
/** Requests the activator may hold beyond the pods' capacity (ACTIVATOR_QUEUE_DEPTH). */
const QUEUE = 200;
// Generous bounds: a leak or an unbounded queue under 2,000 connections shows far above these.
const RSS_BOUND_MB = { router: 400, activator: 400, autoscaler: 300, "queue-proxy": 200 };

const BUSY = appService("busy", {
  containerConcurrency: 20,
  annotations: [
    `autoscaling.knative.dev/min-scale: "${PODS}"`,
    `autoscaling.knative.dev/max-scale: "${PODS}"`,
    `autoscaling.knative.dev/initial-scale: "${PODS}"`,
  ],
});

t.test("2,000 at a time against a capacity of 100: quick 503s, bounded memory, live health", async (t) => {
  const up = await startSluiceUp(t, [BUSY], { ACTIVATOR_QUEUE_DEPTH: String(QUEUE) });
  await up.waitForEndpoints("busy-00001", PODS);
  const queueProxies = findProcesses(
    up.child.pid as number,
    (p) => p.environ.SERVING_REVISION === "busy-00001" && p.environ.SERVING_POD !== undefined,
  ).map((p) => p.pid);
  // Without them the queue-proxy bound below would hold for nothing.
  t.equal(queueProxies.length, PODS, "a queue-proxy found for each pod, to measure");
  const components = {
    router: [up.pid("router")],
    activator: [up.pid("activator")],
    autoscaler: [up.pid("autoscaler")],
    "queue-proxy": queueProxies,
  };
  const peakRss: Record<string, number> = {};
  const baseRss: Record<string, number> = {};
  const sampleRss = (into: Record<string, number>) => {
    for (const [name, pids] of Object.entries(components))
      for (const pid of pids) into[name] = Math.max(into[name] ?? 0, rssMb(pid) ?? 0);
  };
  sampleRss(baseRss);

  // Health, every 100 ms on its own connections, for as long as the load runs.
  const health = new Agent({ connections: 4 });
  t.teardown(() => health.close());
  const healthUrls = {
    router: `${up.adminUrl("router")}/healthz`,
    activator: `${up.adminUrl("activator")}/healthz`,
    autoscaler: `${up.autoscalerUrl}/healthz`,
  };
  const healthResults: { name: string; status: number | string; ms: number }[] = [];
  let loading = true;
  const watchHealth = (async () => {
    while (loading) {
      sampleRss(peakRss);
      await Promise.all(
        Object.entries(healthUrls).map(async ([name, url]) => {
          const start = performance.now();
          const status = await request(url, {
            dispatcher: health,
            headersTimeout: 5000,
            bodyTimeout: 5000,
          }).then(
            async (res) => {
              await res.body.dump();
              return res.statusCode;
            },
            (error: Error) => (error as { code?: string }).code ?? error.message,
          );
          healthResults.push({ name, status, ms: performance.now() - start });
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  const load = startLoad({
    url: up.routerUrl,
    host: "busy.default.example.com",
    path: "/sleep?ms=200",
    concurrency: CONCURRENCY,
    maxRequests: 60_000,
    maxDurationMs: LOAD_MS,
  });
  // The load bounds itself to LOAD_MS; wait for it, then for its last requests.
  await waitFor("the load's time", () => load.now() >= LOAD_MS, { timeoutMs: LOAD_MS + 5000, everyMs: 50 });
  const outcomes = await load.stop();
  loading = false;
  await watchHealth;
  sampleRss(peakRss);

  const f = figures(outcomes);
  const rejected = outcomes.filter((o) => o.status === 503);
  const served = outcomes.filter((o) => o.status === 200);
  const other = outcomes.filter((o) => o.status !== 200 && o.status !== 503);
  const rejectedFigures = figures(rejected.map((o) => ({ ...o, status: 200 })));
  t.comment(describe(`${CONCURRENCY} at a time for ${LOAD_MS / 1000} s, capacity ${CAPACITY}`, f));
  t.comment(
    `503s: ${rejected.length}, p50 ${rejectedFigures.p50Ms} ms, p99 ${rejectedFigures.p99Ms} ms, max ${rejectedFigures.maxMs} ms`,
  );
  t.comment(
    `RSS MB before → peak: ${Object.keys(components)
      .map((name) => `${name} ${Math.round(baseRss[name] ?? 0)} → ${Math.round(peakRss[name] ?? 0)}`)
      .join(", ")} (queue-proxy: the largest of ${queueProxies.length})`,
  );
  const healthFailures = healthResults.filter((h) => h.status !== 200);
  const slowestHealth = Math.round(Math.max(0, ...healthResults.map((h) => h.ms)));
  t.comment(
    `/healthz: ${healthResults.length} checks, ${healthFailures.length} failed, slowest ${slowestHealth} ms`,
  );

  t.ok(served.length > 0, "requests within capacity are served");
  t.ok(rejected.length > 0, "the excess is refused with 503");
  t.same(
    other.map((o) => o.error ?? o.status).slice(0, 10),
    [],
    "nothing else: no 502, 504 or cut connection",
  );
  t.ok(
    rejected.every((o) => o.retryAfter !== undefined && /^\d+$/.test(o.retryAfter)),
    "every 503 carries Retry-After",
  );
  t.ok(
    rejected.every((o) => o.body.length > 0),
    "every 503 names its cause",
    { sample: rejected[0]?.body },
  );
  // Quick: refused on arrival because the queue is full, never held until a timeout (their
  // latency is reported above, not asserted: it depends on the machine's load).
  t.ok(
    rejected.every((o) => /queue (is )?full/i.test(o.body)),
    "every 503 is a refusal on arrival (queue full), not a timeout",
    { bodies: [...new Set(rejected.map((o) => o.body.trim()))].slice(0, 5) },
  );
  for (const [name, bound] of Object.entries(RSS_BOUND_MB))
    t.ok(
      (peakRss[name] ?? 0) < bound,
      `${name} RSS stays under ${bound} MB (peak ${Math.round(peakRss[name] ?? 0)} MB)`,
    );
  t.same(healthFailures.slice(0, 10), [], "every /healthz answered 200 throughout");

  // And afterwards the revision serves normally: nothing leaked in the queues or the pods.
  const after = startLoad({
    url: up.routerUrl,
    host: "busy.default.example.com",
    concurrency: 10,
    maxRequests: 200,
  });
  await waitFor("200 requests after the overload", () => after.outcomes.length >= 200, { timeoutMs: 30_000 });
  const recovered = figures(await after.stop());
  t.comment(describe("after the overload", recovered));
  t.equal(recovered.failed, 0, "after the overload every request is served");
});
