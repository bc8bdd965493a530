// npm run bench -- router: the app direct, the bare undici forwarder (in front of the app, and in
// the router's place in front of the queue-proxy), nginx (when installed), the queue-proxy alone, router → queue-proxy (serve mode), router → activator → queue-proxy (proxy
// mode), and the same serve path through a router holding 10,000 services, in one run. The
// routers and the activator follow a stand-in for the autoscaler's state watch, so the run
// measures routing, not scaling.
import { fileURLToPath } from "node:url";
import { freePort } from "../common/free-port.ts";
import type { DataPlaneState, RevisionState, ServiceState } from "../common/state.ts";
import {
  revisionState,
  serviceState,
  startFakeAutoscaler,
  stateOf,
} from "../test/helpers/fake-autoscaler.ts";
import { type Child, startAndWait } from "./lib/children.ts";
import { compareTargets, type Measurement, type Target } from "./lib/compare.ts";
import { nginxTarget } from "./lib/nginx.ts";
import type { BenchOptions } from "./lib/options.ts";
import { PACED_RATE, type Paced, pacedReport } from "./lib/paced-latency.ts";
import { answers200, portAnswers } from "./lib/ready.ts";
import { saveResults } from "./lib/results.ts";
import { fixed } from "./lib/table.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const url = (port: number) => `http://127.0.0.1:${port}/`;
const MANY = 10_000;

/** The state both routers follow: "serve" and "proxy" reach the same pod; `extra` more services. */
function benchState(podUrl: string, extra: number): DataPlaneState {
  const services: ServiceState[] = [
    serviceState("serve", [{ revision: "serve-00001", percent: 100 }]),
    serviceState("proxy", [{ revision: "proxy-00001", percent: 100 }]),
  ];
  const endpoints = [{ pod: "bench", url: podUrl }];
  const revisions: RevisionState[] = [
    revisionState("serve-00001", "serve", { endpoints }),
    revisionState("proxy-00001", "proxy", { mode: "proxy", endpoints }),
  ];
  for (let i = 0; i < extra; i++) {
    services.push(serviceState(`svc-${i}`, [{ revision: `svc-${i}-00001`, percent: 100 }]));
    revisions.push(revisionState(`svc-${i}-00001`, `svc-${i}`, { mode: "proxy" }));
  }
  return stateOf(services, revisions);
}

async function startRouter(autoscalerUrl: string, activatorUrl: string): Promise<Child & { port: number }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = await startAndWait(here("../router/main.ts"), [], {
    env: {
      ROUTER_PORT: String(port),
      ROUTER_ADMIN_PORT: String(adminPort),
      AUTOSCALER_URL: autoscalerUrl,
      ACTIVATOR_URL: activatorUrl,
    },
    ready: answers200(`http://127.0.0.1:${adminPort}/readyz`),
    timeoutMs: 60_000,
  });
  return { ...child, port };
}

export async function benchRouter(options: BenchOptions): Promise<void> {
  const children: Child[] = [];
  const cleanups: (() => unknown)[] = [];
  const teardown = { teardown: (fn: () => unknown) => void cleanups.push(fn) };
  try {
    const appPort = await freePort();
    const app = await startAndWait(here("apps/hello.ts"), [], {
      env: { PORT: String(appPort) },
      ready: portAnswers(appPort),
    });
    children.push(app);
    const [qpPort, qpAdmin] = [await freePort(), await freePort()];
    const qp = await startAndWait(here("../queue-proxy/main.ts"), [], {
      env: {
        USER_PORT: String(appPort),
        QUEUE_SERVING_PORT: String(qpPort),
        QUEUE_ADMIN_PORT: String(qpAdmin),
        QUEUE_METRICS_PORT: "-1",
        CONTAINER_CONCURRENCY: "0",
        SERVING_SERVICE: "serve",
        SERVING_REVISION: "serve-00001",
      },
      ready: answers200(`http://127.0.0.1:${qpAdmin}/readyz`),
    });
    children.push(qp);
    const barePort = await freePort();
    const bare = await startAndWait(here("apps/bare-forwarder.ts"), [], {
      env: { PORT: String(barePort), UPSTREAM_PORT: String(appPort) },
      ready: answers200(url(barePort)),
    });
    children.push(bare);
    // The floor in the router's own position: a bare forwarder in front of the same queue-proxy.
    const bareQpPort = await freePort();
    const bareQp = await startAndWait(here("apps/bare-forwarder.ts"), [], {
      env: { PORT: String(bareQpPort), UPSTREAM_PORT: String(qpPort) },
      ready: answers200(url(bareQpPort)),
    });
    children.push(bareQp);

    const small = await startFakeAutoscaler(teardown, benchState(url(qpPort).slice(0, -1), 0));
    const large = await startFakeAutoscaler(teardown, benchState(url(qpPort).slice(0, -1), MANY));
    const [activatorPort, activatorAdmin] = [await freePort(), await freePort()];
    const activator = await startAndWait(here("../activator/main.ts"), [], {
      env: {
        ACTIVATOR_PORT: String(activatorPort),
        ACTIVATOR_ADMIN_PORT: String(activatorAdmin),
        AUTOSCALER_URL: small.url,
      },
      ready: answers200(`http://127.0.0.1:${activatorAdmin}/readyz`),
    });
    children.push(activator);
    const router = await startRouter(small.url, url(activatorPort).slice(0, -1));
    children.push(router);
    process.stderr.write(`starting a router with ${MANY.toLocaleString("en")} services…\n`);
    const routerMany = await startRouter(large.url, url(activatorPort).slice(0, -1));
    children.push(routerMany);

    const serveHost = { Host: "serve.default.example.com" }; // "Host": wrk replaces its own only when capitalised
    const targets: Target[] = [
      { name: "direct", url: url(appPort), pid: app.pid },
      { name: "bare-forwarder", url: url(barePort), pid: bare.pid },
      { name: "queue-proxy", url: url(qpPort), pid: qp.pid },
      { name: "bare→qp", url: url(bareQpPort), pid: bareQp.pid, alsoMeasure: { "queue-proxy": qp.pid } },
      {
        name: "router→qp",
        url: url(router.port),
        pid: router.pid,
        headers: serveHost,
        alsoMeasure: { "queue-proxy": qp.pid },
      },
      {
        name: "router→act→qp",
        url: url(router.port),
        pid: router.pid,
        headers: { Host: "proxy.default.example.com" },
        alsoMeasure: { activator: activator.pid, "queue-proxy": qp.pid },
      },
      {
        name: `router(${MANY / 1000}k)→qp`,
        url: url(routerMany.port),
        pid: routerMany.pid,
        headers: serveHost,
      },
    ];
    const nginx = await nginxTarget(appPort);
    if ("reason" in nginx) console.log(`nginx: ${nginx.reason}`);
    else {
      children.push(nginx.child);
      targets.push(nginx.target);
    }

    const { idle, results } = await compareTargets(targets, options, {
      floor: "bare-forwarder",
      nginx: "nginx",
    });
    console.log(
      "\nCPU µs/req is the target's own process: the router's for the router rows (the queue-proxy and\n" +
        "activator behind it are listed below), the app's for direct, all workers for nginx.",
    );
    const paced = await pacedReport(targets, options);
    summarize(results, paced);
    const file = saveResults("router", { options, idle, results, paced });
    console.log(`\nresults: ${file}`);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    for (const cleanup of cleanups) await cleanup();
  }
}

/** The router's goals (from its issue), each with the figure that decides it. */
function summarize(results: Measurement[], paced: Paced): void {
  const at = (target: string, connections: number) =>
    results.find((r) => r.target === target && r.connections === connections);
  console.log("\nrouter goals:");
  for (const connections of new Set(results.map((r) => r.connections))) {
    const serve = at("router→qp", connections);
    const proxied = at("router→act→qp", connections);
    const many = at(`router(${MANY / 1000}k)→qp`, connections);
    const bare = at("bare→qp", connections);
    const nginx = at("nginx", connections);
    if (!serve) continue;
    const qpCpu = serve.alsoCpuMicrosPerRequest["queue-proxy"];
    const line = (text: string) => console.log(`  ${connections} conns: ${text}`);
    line(
      `router ${fixed(serve.cpuMicrosPerRequest, 1)} + queue-proxy ${fixed(qpCpu, 1)} CPU µs/req on the serve path`,
    );
    if (proxied)
      line(
        `proxy path: router ${fixed(proxied.cpuMicrosPerRequest, 1)} + activator ${fixed(proxied.alsoCpuMicrosPerRequest.activator, 1)} + queue-proxy ${fixed(proxied.alsoCpuMicrosPerRequest["queue-proxy"], 1)} CPU µs/req`,
      );
    if (bare)
      line(
        `router CPU/req ${fixed(serve.cpuMicrosPerRequest / bare.cpuMicrosPerRequest)}× bare forwarder (goal ≤ 1.25)`,
      );
    if (nginx) {
      line(
        `router CPU/req ${fixed(serve.cpuMicrosPerRequest / nginx.cpuMicrosPerRequest)}× nginx (goal < 2.5)`,
      );
      line(
        `serve path (router + queue-proxy) ${fixed((serve.cpuMicrosPerRequest + qpCpu) / nginx.cpuMicrosPerRequest)}× nginx (goal < 5)`,
      );
    }
    if (many)
      line(
        `routing with ${MANY.toLocaleString("en")} services: CPU/req ${fixed(many.cpuMicrosPerRequest / serve.cpuMicrosPerRequest)}× one service (goal ≤ 1.10)`,
      );
    if (connections === 64)
      line(
        `router RSS under load ${fixed(serve.rssMb, 0)} MB (goal < 150); with ${MANY.toLocaleString("en")} services ${fixed(many?.rssMb ?? Number.NaN, 0)} MB`,
      );
  }
  if (paced["router→qp"] && paced.direct)
    console.log(
      `  paced, 8 clients at ${PACED_RATE} req/s: router + queue-proxy add p99 ${fixed(paced["router→qp"].p99Ms - paced.direct.p99Ms, 3)} ms (goal < 1.5)`,
    );
}
