// The dashboard and the rules, proven against a real Prometheus: `sluice up` on the examples (with
// an API token, so discovery is tested with authorization), load and cold starts through the
// router, Prometheus finding every target through GET /v1/prometheus/targets, then every PromQL
// expression of charts/sluice/dashboards/sluice.json and charts/sluice/prometheus/*.yaml
// evaluated over the HTTP API: valid, and returning data. `promtool check rules` passes.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { request } from "undici";
import { parse } from "yaml";
import { promtoolPath, RULES_DIR, sluiceRuleFiles } from "../../cli/up/observability-tools.ts";
import { startLoad } from "../helpers/load.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { type QueryResult, skipUnlessPrometheus, startPrometheusForTest } from "../helpers/prometheus.ts";
import { sluiceUp } from "./sluice-up.ts";

const skip = skipUnlessPrometheus();
const DASHBOARD = join(ROOT, "charts", "sluice", "dashboards", "sluice.json");
const TOKEN = "observability-test-token";
const HOST = (service: string) => `${service}.default.example.com`;

/**
 * Queries whose series the components do not export yet (or not before some event), each with
 * why. The dashboard marks their targets with `sluiceAwaitingMetric`; this list must match it.
 * They must still be valid PromQL and return nothing: when one returns data its metric has
 * arrived, so drop the mark and the entry.
 */
const AWAITING: Record<string, string> = {};

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string; refId: string; sluiceAwaitingMetric?: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}

/** Grafana's variables as the "All" choice and a rate interval that spans several 1 s scrapes. */
function substitute(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$namespace", ".*")
    .replaceAll("$service", ".*")
    .replaceAll("$revision", ".*");
}

/** Grafana's `label_values(selector, label)` as PromQL that returns a series per value. */
function labelValuesQuery(definition: string): string {
  const match = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(definition);
  if (!match) throw new Error(`not a label_values() query: ${definition}`);
  return `count by (${match[2]}) (${substitute(match[1])})`;
}

interface RuleFile {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
}

const hasData = (answer: QueryResult | undefined) =>
  answer?.status === "success" && (answer.data?.result.length ?? 0) > 0;

t.test("promtool check rules passes on charts/sluice/prometheus/", { skip }, async (t) => {
  const promtool = promtoolPath();
  if (!promtool) return t.fail("promtool not found beside prometheus");
  const result = spawnSync(promtool, ["check", "rules", ...sluiceRuleFiles()], { encoding: "utf8" });
  t.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  t.ok(sluiceRuleFiles().length >= 2, `rule files in ${RULES_DIR}`);
});

// Its test allows 240 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(270_000);
t.test(
  "every dashboard and rule expression has data from sluice up, scraped through discovery",
  { skip, timeout: 240_000 },
  async (t) => {
    const files = ["hello.yaml", "one-at-a-time.yaml"].map((file) =>
      readFileSync(join(ROOT, "examples", file), "utf8"),
    );
    const up = await sluiceUp(t, files, { SLUICE_TOKEN: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };

    // Discovery needs the token like every API route.
    const refused = await request(`${up.autoscalerUrl}/v1/prometheus/targets`);
    await refused.body.dump();
    t.equal(refused.statusCode, 401, "GET /v1/prometheus/targets without the token");
    // sluice up reports each component's metrics port once it is up (PUT /v1/components), so the
    // list fills in as they start.
    const components = async () =>
      (
        (await (
          await request(`${up.autoscalerUrl}/v1/prometheus/targets`, { headers: auth })
        ).body.json()) as { targets: string[]; labels: Record<string, string> }[]
      )
        .map((group) => group.labels.component)
        .sort();
    const discovered = await waitFor(
      "the three components discovered",
      async () => ((await components()).length >= 3 ? components() : undefined),
      { timeoutMs: 15_000, everyMs: 100 },
    ).catch(() => components());
    t.same(discovered, ["activator", "autoscaler", "router"], "at zero pods: the three components");

    const prometheus = await startPrometheusForTest(t, {
      autoscalerUrl: up.autoscalerUrl,
      token: TOKEN,
      scrapeIntervalSeconds: 1,
    });
    const seen = () =>
      prometheus
        .targets()
        .then((targets) => targets.map((x) => `${x.labels.job} ${x.scrapeUrl} ${x.health} ${x.lastError}`));
    await waitFor(
      "router, activator and autoscaler scraped",
      async () => {
        const jobs = (await prometheus.targets()).filter((target) => target.health === "up");
        return ["router", "activator", "autoscaler"].every((job) => jobs.some((j) => j.labels.job === job));
      },
      { timeoutMs: 30_000, everyMs: 250 },
    ).catch(async (error) => {
      throw new Error(`${error.message}; targets: ${(await seen()).join("; ")}\n${prometheus.output()}`);
    });

    // A cold start of each example revision (one-at-a-time: several pods at once), then steady load.
    const cold = await Promise.all([
      request(`${up.routerUrl}/`, { headers: { host: HOST("hello") } }),
      request(`${up.routerUrl}/`, { headers: { host: `canary-${HOST("hello")}` } }),
      ...[1, 2, 3].map(() =>
        request(`${up.routerUrl}/?sleep=300`, { headers: { host: HOST("one-at-a-time") } }),
      ),
    ]);
    for (const res of cold) await res.body.dump();
    t.same(
      cold.map((res) => res.statusCode),
      [200, 200, 200, 200, 200],
      "cold starts answered",
    );
    const load = startLoad({ url: up.routerUrl, host: HOST("hello"), concurrency: 4, maxRequests: 400 });
    await waitFor("400 answers", () => load.outcomes.length >= 400, { timeoutMs: 60_000, everyMs: 100 });
    await load.stop();
    t.same(
      load.outcomes.filter((o) => o.status !== 200),
      [],
      "the load was answered 200",
    );

    await waitFor(
      "a queue-proxy of each example revision scraped",
      async () => {
        const targets = (await prometheus.targets()).filter(
          (target) => target.labels.job === "queue-proxy" && target.health === "up",
        );
        return ["hello-00001", "hello-00002", "one-at-a-time-00001"].every((revision) =>
          targets.some((target) => target.labels.revision === revision),
        );
      },
      { timeoutMs: 30_000, everyMs: 250 },
    );

    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
    const rules = sluiceRuleFiles().flatMap((file) =>
      (parse(readFileSync(file, "utf8")) as RuleFile).groups.flatMap((group) => group.rules),
    );

    // Every query that must return data, by what it is.
    const mustHaveData = new Map<string, string>();
    const awaiting = new Map<string, string>();
    const panels = dashboard.panels.filter((panel) => panel.type !== "row");
    const marked: string[] = [];
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const what = `panel "${panel.title}" ${target.refId}`;
        if (target.sluiceAwaitingMetric) marked.push(what);
        mustHaveData.set(what, substitute(target.expr));
      }
    }
    for (const variable of dashboard.templating.list) {
      if (variable.type === "query" && variable.definition)
        mustHaveData.set(`variable $${variable.name}`, labelValuesQuery(variable.definition));
    }
    for (const rule of rules) {
      if (rule.record) {
        mustHaveData.set(`recording rule ${rule.record} (expr)`, rule.expr);
        mustHaveData.set(`recording rule ${rule.record} (recorded)`, rule.record);
      }
    }
    // An alert's condition is empty while all is well: its expression must be valid, and every
    // series it reads must have data.
    const mustBeValid = new Map<string, string>();
    for (const rule of rules.filter((r) => r.alert)) {
      mustBeValid.set(`alert ${rule.alert}`, rule.expr);
      for (const name of new Set(rule.expr.match(/\b(sluice[_:][a-z0-9_:]+|up)\b/g) ?? [])) {
        const selector = name === "up" ? 'up{job=~"router|activator|autoscaler|queue-proxy"}' : name;
        mustHaveData.set(`alert ${rule.alert} reads ${name}`, `count(${selector})`);
      }
    }
    t.same(
      marked.sort(),
      Object.keys(AWAITING)
        .filter((what) => what.startsWith("panel "))
        .sort(),
      "the dashboard's targets marked sluiceAwaitingMetric are the ones AWAITING lists",
    );
    for (const what of Object.keys(AWAITING)) {
      const expr = mustHaveData.get(what);
      if (expr === undefined) {
        t.fail(`AWAITING lists ${what}, which is no query of the dashboard or the alerts`);
        continue;
      }
      mustHaveData.delete(what);
      awaiting.set(what, expr);
    }
    t.ok(mustHaveData.size > 40, `${mustHaveData.size} queries to check`);

    const answers = new Map<string, QueryResult>();
    const missing = () => [...mustHaveData].filter(([what]) => !hasData(answers.get(what)));
    await waitFor(
      "every query to return data",
      async () => {
        for (const [what, expr] of missing()) answers.set(what, await prometheus.query(expr));
        return missing().length === 0;
      },
      { timeoutMs: 90_000, everyMs: 1000 },
    ).catch(() => undefined); // each missing one is named below
    for (const [what, expr] of mustHaveData) {
      const answer = answers.get(what);
      t.ok(
        hasData(answer),
        `${what} returns data`,
        hasData(answer) ? {} : { expr, answer: answer?.error ?? "no series" },
      );
    }
    for (const [what, expr] of [...mustBeValid, ...awaiting]) {
      const answer = await prometheus.query(expr);
      t.equal(answer.status, "success", `${what} is valid PromQL`, { expr, error: answer.error });
      if (awaiting.has(what))
        t.notOk(hasData(answer), `${what} still has no data: ${AWAITING[what]}`, { expr });
    }
    const unhealthy = (await prometheus.rules()).flatMap((group) =>
      group.rules.filter((rule) => rule.health !== "ok" && rule.health !== "unknown"),
    );
    t.same(unhealthy, [], "Prometheus evaluates every rule without error");
  },
);
