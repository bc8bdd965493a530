// Each component from its prebuilt bundle, and the spawn paths of `sluice up` and the local
// platform choosing the bundles. On a copy of the tree (sources, scripts/build.ts, the same
// node_modules), built into its dist/ as `npm install` builds the repository's: edits to the
// working tree while this runs cannot make the bundles stale under it.
import { type ChildProcess, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:http";
import { connect } from "node:http2";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t, { type Test } from "tap";
import { DATA_PATH_NODE_OPTIONS, QUEUE_PROXY_NODE_OPTIONS } from "../../common/prebuilt.ts";
import type * as SpawnChild from "../../platform/local/spawn-child.ts";
import type * as SpawnPodProcess from "../../platform/local/spawn-pod-process.ts";
import type * as Build from "../../scripts/build.ts";
import { ROOT, TEST_HOP_SECRET, waitFor, watchChild } from "../helpers/processes.ts";

// The build alone takes 10–40 s on a loaded 2-core machine.
t.setTimeout(300_000);
const work = mkdtempSync(join(tmpdir(), "sluice-bundles-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const tree = join(work, "tree");
for (const path of [
  "package.json",
  "common",
  "serving",
  "platform",
  "router",
  "activator",
  "autoscaler",
  "queue-proxy",
  "eventing",
  "scripts/build.ts",
])
  cpSync(join(ROOT, path), join(tree, path), { recursive: true });
symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
const dist = join(tree, "dist");
const load = async <T>(path: string) => (await import(pathToFileURL(join(tree, path)).href)) as T;
const { spawnChild } = await load<typeof SpawnChild>("platform/local/spawn-child.ts");
const { spawnPodProcess } = await load<typeof SpawnPodProcess>("platform/local/spawn-pod-process.ts");
const built = (await load<typeof Build>("scripts/build.ts")).build();

/** Requests the app has had for /healthz: the queue-proxies' httpGet readiness probes. */
let healthChecks = 0;
const app = createServer((req, res) => {
  if (req.url === "/healthz") healthChecks++;
  res.end("hello from the app");
}).listen(0, "127.0.0.1");
t.teardown(() => app.close());

const cmdline = (child: ChildProcess) =>
  readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0").slice(0, -1);

async function listening(t: Test, child: ChildProcess): Promise<Record<string, number>> {
  const { output } = watchChild(t, child);
  return new Promise((resolve, reject) => {
    child.on("message", (message: { type?: string } & Record<string, number>) => {
      if (message?.type === "listening") resolve(message);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output()}`)));
  });
}

function environment(component: string): Record<string, string> {
  const nowhere = "http://127.0.0.1:1";
  const common = { LOG_LEVEL: "warn", SLUICE_HOP_SECRET: TEST_HOP_SECRET };
  switch (component) {
    case "queue-proxy":
      return {
        ...common,
        USER_PORT: String((app.address() as AddressInfo).port),
        QUEUE_SERVING_PORT: "0",
        QUEUE_ADMIN_PORT: "0",
        QUEUE_METRICS_PORT: "-1",
        SERVING_SERVICE: "hello",
        SERVING_REVISION: "hello-00001",
        // The app is probed over HTTP: on the raw path that too is done without node:http.
        SERVING_READINESS_PROBE: JSON.stringify({ httpGet: { path: "/healthz" } }),
      };
    case "router":
      return {
        ...common,
        ROUTER_PORT: "0",
        ROUTER_ADMIN_PORT: "0",
        AUTOSCALER_URL: nowhere,
        ACTIVATOR_URL: nowhere,
      };
    case "activator":
      return { ...common, ACTIVATOR_PORT: "0", ACTIVATOR_ADMIN_PORT: "0", AUTOSCALER_URL: nowhere };
    default:
      return { ...common, AUTOSCALER_PORT: "0", SLUICE_STATE_DIR: join(work, "state") };
  }
}

t.test("the build: one CommonJS script per component and the pod guard", async (t) => {
  const { bundles } = await built;
  t.same(bundles.map((b) => b.source).sort(), [
    "activator/main.ts",
    "autoscaler/main.ts",
    "eventing/main.ts",
    "platform/local/pod-guard.ts",
    "queue-proxy/main.ts",
    "router/main.ts",
  ]);
  for (const { file } of bundles)
    t.match(readFileSync(file, "utf8"), /^"use strict";\n/, `${file} is a script`);
});

t.test("pino and prom-client: bundles of their own, required by the components that use them", async (t) => {
  const { packages } = await built;
  t.same(
    packages.map((p) => [p.source, p.file]),
    [
      ["pino", join(dist, "pino.cjs")],
      ["prom-client", join(dist, "prom-client.cjs")],
    ],
  );
  // Their code is not in a component's bundle (a string from each package's own source)...
  const queueProxy = readFileSync(join(dist, "queue-proxy.cjs"), "utf8");
  t.notMatch(queueProxy, /Symbol\("pino\.setLevel"\)/, "no pino in the queue-proxy's bundle");
  t.notMatch(queueProxy, /process_cpu_user_seconds_total/, "no prom-client in it");
  t.match(readFileSync(join(dist, "pino.cjs"), "utf8"), /Symbol\("pino\.setLevel"\)/);
  t.match(readFileSync(join(dist, "prom-client.cjs"), "utf8"), /process_cpu_user_seconds_total/);
  // ...and each works from there, wherever it is required from.
  const require = createRequire(join(work, "elsewhere.js"));
  const lines: string[] = [];
  const pino = require(join(dist, "pino.cjs")) as typeof import("pino").default;
  pino({ base: null }, { write: (line: string) => lines.push(line) }).error(new Error("boom"), "failed");
  t.match(JSON.parse(lines[0]), { level: 50, msg: "failed", err: { type: "Error", message: "boom" } });
  const promClient = require(join(dist, "prom-client.cjs")) as typeof import("prom-client");
  const registry = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: registry });
  t.match(await registry.metrics(), /^process_cpu_user_seconds_total /m, "its process metrics");
});

t.test("a component's bundle stops on a LOG_LEVEL that is not a level, naming it", async (t) => {
  await built;
  const result = spawnSync(process.execPath, [join(dist, "queue-proxy.cjs")], {
    env: { ...process.env, ...environment("queue-proxy"), LOG_LEVEL: "loud" },
    encoding: "utf8",
  });
  t.equal(result.status, 2);
  t.match(
    result.stderr,
    /^queue-proxy: invalid configuration:\n {2}- LOG_LEVEL="loud": expected one of trace, debug/,
  );
});

for (const component of ["autoscaler", "activator", "router", "queue-proxy"]) {
  t.test(`${component} starts from its bundle and answers`, async (t) => {
    await built;
    // spawnChild is how `sluice up` starts components (cli/up/component.ts).
    const child = spawnChild(process.execPath, [join(tree, component, "main.ts")], {
      env: { ...process.env, ...environment(component) },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const ports = await listening(t, child);
    t.ok(cmdline(child).includes(join(dist, `${component}.cjs`)), "the bundle runs");
    const admin = `http://127.0.0.1:${ports.adminPort ?? ports.port}`;
    t.equal((await fetch(`${admin}/healthz`)).status, 200, "/healthz");
    if (component === "queue-proxy") {
      await waitFor("the app ready", async () => (await fetch(`${admin}/readyz`)).status === 200);
      const answer = await fetch(`http://127.0.0.1:${ports.servingPort}/`);
      t.equal(await answer.text(), "hello from the app", "a request reaches the app");
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      t.match(metrics, /^sluice_queue_proxy_requests_total\{.*code="200"\} 1$/m, "counted in /metrics");
      t.match(metrics, /^sluice_queue_proxy_process_cpu_seconds_total /m, "prom-client loaded for it");
    }
  });
}

t.test("the local platform starts a pod's queue-proxy and guard from their bundles", async (t) => {
  await built;
  const log = join(work, "queue-proxy.log");
  const guard = pathToFileURL(join(tree, "platform/local/pod-guard.ts")).href;
  const child = spawnPodProcess(process.execPath, ["--import", guard, join(tree, "queue-proxy/main.ts")], {
    env: { ...process.env, ...environment("queue-proxy"), LOG_LEVEL: "info" },
    stdout: log,
    stderr: log,
  });
  t.teardown(() => child.kill("SIGKILL"));
  t.same(cmdline(child).slice(1), [
    ...DATA_PATH_NODE_OPTIONS,
    ...QUEUE_PROXY_NODE_OPTIONS,
    "--require",
    join(dist, "pod-guard.cjs"),
    join(dist, "queue-proxy.cjs"),
  ]);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // No IPC here (as for a real pod): it is up once its log says so.
  await waitFor(
    "the queue-proxy listening",
    () => readFileSync(log, "utf8").includes("queue-proxy listening"),
    {
      timeoutMs: 15_000,
    },
  ).catch(async (error) => {
    throw new Error(`${error.message}:\n${readFileSync(log, "utf8")}`);
  });
  child.kill("SIGTERM");
  t.equal(await exited, 0, "drained and exited");
});

for (const component of ["queue-proxy", "router"]) {
  t.test(
    `${component} from its bundle loads node:http2 at the first h2c connection and prom-client at the first scrape, not at start`,
    async (t) => {
      await built;
      // (From its sources, an ES module's `import … from "node:http"` loads node's own undici and
      // node:http2 with it: the bundle's require() does not.)
      const recorder = pathToFileURL(join(ROOT, "test/fixtures/record-modules.ts")).href;
      const child = spawnChild(process.execPath, ["--import", recorder, join(tree, component, "main.ts")], {
        env: { ...process.env, ...environment(component) },
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
      t.teardown(() => child.kill("SIGKILL"));
      const ports = await listening(t, child);
      t.ok(cmdline(child).includes(join(dist, `${component}.cjs`)), "the bundle runs");
      const modules = () =>
        new Promise<{ urls: string[]; builtins: string[] }>((resolve) => {
          const onMessage = (message: { type?: string; urls?: string[]; builtins?: string[] }) => {
            if (message?.type !== "modules") return;
            child.off("message", onMessage);
            resolve({ urls: message.urls ?? [], builtins: message.builtins ?? [] });
          };
          child.on("message", onMessage);
          child.send("modules");
        });
      const builtins = async () => (await modules()).builtins;
      /** Which of the packages bundled on their own it has required (from dist/). */
      const packagesRequired = async () => {
        const { urls } = await modules();
        return ["pino.cjs", "prom-client.cjs"].filter((file) =>
          urls.includes(pathToFileURL(join(dist, file)).href),
        );
      };
      // The router may have warned of its unreachable autoscaler through pino already (a race
      // with this check); the queue-proxy, which only logs simple lines here, has required neither.
      if (component === "queue-proxy")
        t.same(await packagesRequired(), [], "neither pino nor prom-client at start");
      else t.notOk((await packagesRequired()).includes("prom-client.cjs"), "no prom-client at start");
      t.notOk(
        (await modules()).urls.some((url) => url.includes("/node_modules/@opentelemetry/")),
        "no OpenTelemetry at start (tracing is off): the SDK loads only when asked",
      );
      const atStart = await builtins();
      t.ok(atStart.includes("_http_common"), "node's list of loaded built-ins (the raw path's parser)");
      t.notOk(atStart.includes("http2"), "no node:http2 at start (~9 MB of RSS)");
      // The raw path serves the data and admin ports, and probes the app over HTTP, without
      // node:http (~2 MB with the probes); the router loads it for its state watch
      // (common/http/stream-get.ts).
      if (component === "queue-proxy") {
        await waitFor(
          "the app found ready by the httpGet probe",
          async () => (await fetch(`http://127.0.0.1:${ports.adminPort}/readyz`)).status === 200,
        );
        t.ok(healthChecks > 0, "the app was probed over HTTP (not by a TCP connect)");
        t.notOk(
          (await builtins()).includes("http"),
          "no node:http after probing the app over HTTP and being probed on its admin port",
        );
      }
      const session = connect(`http://127.0.0.1:${ports.servingPort ?? ports.port}`);
      t.teardown(() => session.destroy());
      session.on("error", () => {});
      await new Promise((resolve) => session.once("remoteSettings", resolve));
      t.ok((await builtins()).includes("http2"), "loaded for an h2c client, whose session it serves");
      await fetch(`http://127.0.0.1:${ports.adminPort}/metrics`);
      t.ok(
        (await packagesRequired()).includes("prom-client.cjs"),
        "prom-client from its own bundle at the first scrape",
      );
    },
  );
}
