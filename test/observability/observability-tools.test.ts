// sluice up --prometheus / --jaeger and the configs they generate: loopback only, the token where
// the API needs one, Prometheus's own config check, and a real `sluice up --prometheus --jaeger`
// that prints each tool's URL, where the tool answers (Jaeger's part skips where it is not built).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import t from "tap";
import { request } from "undici";
import { parse } from "yaml";
import {
  jaegerConfig,
  jaegerPath,
  prometheusConfig,
  promtoolPath,
} from "../../cli/up/observability-tools.ts";
import { parseUpArgs } from "../../cli/up/options.ts";
import { onFreePorts } from "../../common/free-port.ts";
import { appService } from "../helpers/autoscaler.ts";
import { skipUnlessJaeger } from "../helpers/jaeger.ts";
import { waitFor } from "../helpers/processes.ts";
import { skipUnlessPrometheus } from "../helpers/prometheus.ts";
import { tempDir } from "../helpers/temp.ts";
import { sluiceUp } from "./sluice-up.ts";

t.test("--prometheus and --jaeger are off unless given", async (t) => {
  t.match(parseUpArgs([], ["examples"]), { prometheus: false, jaeger: false });
  t.match(parseUpArgs(["--prometheus", "--jaeger"], ["examples"]), { prometheus: true, jaeger: true });
});

/** Listens on 127.0.0.1:`port`; rejects with node's EADDRINUSE error when it is taken. */
function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

t.test("a tool whose port was taken before it bound starts again on new ports", async (t) => {
  const servers: Server[] = [];
  t.teardown(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));
  const tried: number[][] = [];
  const server = await onFreePorts(2, async (ports) => {
    tried.push(ports);
    // Another process takes the first port between the check and the bind, once.
    if (tried.length === 1) servers.push(await listenOn(ports[0]));
    const mine = await listenOn(ports[0]);
    servers.push(mine);
    return mine;
  });
  t.equal(tried.length, 2, "started twice");
  t.not(tried[1][0], tried[0][0], "on a port other than the one taken");
  t.not(tried[1][0], tried[1][1], "the ports of one attempt differ");
  t.ok(server.listening);

  let attempts = 0;
  await t.rejects(
    onFreePorts(1, async ([port]) => {
      attempts++;
      servers.push(await listenOn(port));
      return listenOn(port);
    }),
    /EADDRINUSE/,
    "a port taken every time: the last error",
  );
  t.equal(attempts, 3, "given up after three attempts");

  attempts = 0;
  await t.rejects(
    onFreePorts(1, async () => {
      attempts++;
      throw new Error("jaeger exited before it was ready: bad config");
    }),
    /bad config/,
  );
  t.equal(attempts, 1, "any other failure is not retried");
});

t.test("Jaeger's config: every endpoint on 127.0.0.1, OTLP/HTTP in, memory storage", async (t) => {
  const config = parse(jaegerConfig({ otlp: 1, query: 2, queryGrpc: 3 }));
  const endpoints = JSON.stringify(config).match(/"endpoint":"[^"]+"/g) ?? [];
  t.same(endpoints.sort(), [
    '"endpoint":"127.0.0.1:1"',
    '"endpoint":"127.0.0.1:2"',
    '"endpoint":"127.0.0.1:3"',
  ]);
  t.same(Object.keys(config.receivers.otlp.protocols), ["http"]);
  t.ok(config.extensions.jaeger_storage.backends.memstore.memory);
  t.equal(config.service.telemetry.metrics.level, "none", "no telemetry port of its own");
});

t.test(
  "Prometheus's config: discovery through the autoscaler, the token as a Bearer token",
  { skip: skipUnlessPrometheus() },
  async (t) => {
    const dir = tempDir(t, "sluice-promconfig-");
    const text = prometheusConfig({
      autoscalerUrl: "http://127.0.0.1:8090",
      token: 'a"b',
      scrapeIntervalSeconds: 5,
    });
    const [job] = parse(text).scrape_configs;
    t.same(job.http_sd_configs[0], {
      url: "http://127.0.0.1:8090/v1/prometheus/targets",
      refresh_interval: "5s",
      authorization: { type: "Bearer", credentials: 'a"b' },
    });
    t.same(
      job.authorization,
      { type: "Bearer", credentials: 'a"b' },
      "the autoscaler's /metrics needs it too",
    );
    t.notOk(
      parse(prometheusConfig({ autoscalerUrl: "http://x", scrapeIntervalSeconds: 1 })).scrape_configs[0]
        .authorization,
    );
    writeFileSync(join(dir, "prometheus.yml"), text);
    const promtool = promtoolPath() as string;
    const checked = spawnSync(promtool, ["check", "config", join(dir, "prometheus.yml")], {
      encoding: "utf8",
    });
    t.equal(checked.status, 0, `promtool check config:\n${checked.stdout}${checked.stderr}`);
  },
);

t.test(
  "sluice up --prometheus --jaeger: each tool beside sluice, its URL printed",
  { skip: skipUnlessPrometheus(), timeout: 120_000 },
  async (t) => {
    const up = await sluiceUp(t, [appService("tools")], {}, ["--prometheus", "--jaeger"]);
    const prometheusUrl = up.url("prometheus");
    t.ok(prometheusUrl, "the banner names Prometheus's URL");
    await waitFor(
      "Prometheus scraping router, activator and autoscaler",
      async () => {
        const res = await request(`${prometheusUrl}/api/v1/targets?state=active`);
        const { data } = (await res.body.json()) as {
          data: { activeTargets: { labels: Record<string, string>; health: string }[] };
        };
        const up = data.activeTargets.filter((x) => x.health === "up").map((x) => x.labels.job);
        return ["router", "activator", "autoscaler"].every((job) => up.includes(job));
      },
      { timeoutMs: 30_000, everyMs: 500 },
    );
    const rules = (await (await request(`${prometheusUrl}/api/v1/rules`)).body.json()) as {
      data: { groups: unknown[] };
    };
    t.ok(rules.data.groups.length >= 3, "sluice's rules loaded");

    if (jaegerPath() === undefined) {
      t.match(up.output(), /--jaeger: jaeger is not built; build it with scripts\/tools\/build.sh jaeger/);
    }
    t.test("Jaeger beside it gets the components' traces", { skip: skipUnlessJaeger() }, async (t) => {
      const jaegerUrl = up.url("jaeger");
      t.ok(jaegerUrl, "the banner names Jaeger's URL");
      const res = await request(`${up.routerUrl}/`, { headers: { host: "tools.default.example.com" } });
      await res.body.dump();
      t.equal(res.statusCode, 200);
      await waitFor(
        "the router's span in Jaeger",
        async () => {
          const answer = await request(`${jaegerUrl}/api/services`);
          const { data } = (await answer.body.json()) as { data: string[] | null };
          return data?.includes("sluice-router");
        },
        { timeoutMs: 30_000, everyMs: 250 },
      );
    });
  },
);
