// npm run bench -- queue-proxy: the app direct, through the bare undici forwarder (the floor for a
// Node proxy), through the queue-proxy and through nginx (when installed), in one run, each a
// separate process on free loopback ports.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "../common/free-port.ts";
import { type Child, startAndWait } from "./lib/children.ts";
import { compareTargets, type idleMemory, type Measurement, type Target } from "./lib/compare.ts";
import { nginxTarget } from "./lib/nginx.ts";
import type { BenchOptions } from "./lib/options.ts";
import { PACED_RATE, type Paced, pacedReport } from "./lib/paced-latency.ts";
import { answers200, portAnswers } from "./lib/ready.ts";
import { saveResults } from "./lib/results.ts";
import { fixed } from "./lib/table.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const QUEUE_PROXY_MAIN = here("../queue-proxy/main.ts");
const url = (port: number) => `http://127.0.0.1:${port}/`;

/** Why a target is missing from the run, for the report. */
type Skipped = { name: string; reason: string };

/** The first line of an error: enough to say why a target did not start. */
const firstLine = (error: unknown) => String((error as Error).message ?? error).split("\n")[0];

async function startQueueProxy(appPort: number): Promise<{ child: Child; target: Target }> {
  const [servingPort, adminPort] = [await freePort(), await freePort()];
  const child = await startAndWait(QUEUE_PROXY_MAIN, [], {
    env: {
      USER_PORT: String(appPort),
      QUEUE_SERVING_PORT: String(servingPort),
      QUEUE_ADMIN_PORT: String(adminPort),
      QUEUE_METRICS_PORT: "-1",
      CONTAINER_CONCURRENCY: "0",
      SERVING_SERVICE: "bench",
      SERVING_REVISION: "bench-00001",
    },
    ready: answers200(`http://127.0.0.1:${adminPort}/readyz`),
  });
  return { child, target: { name: "queue-proxy", url: url(servingPort), pid: child.pid } };
}

export async function benchQueueProxy(options: BenchOptions): Promise<void> {
  const children: Child[] = [];
  const targets: Target[] = [];
  const skipped: Skipped[] = [];
  try {
    const appPort = await freePort();
    const app = await startAndWait(here("apps/hello.ts"), [], {
      env: { PORT: String(appPort) },
      ready: portAnswers(appPort),
    });
    children.push(app);
    targets.push({ name: "direct", url: url(appPort), pid: app.pid });

    const barePort = await freePort();
    const bare = await startAndWait(here("apps/bare-forwarder.ts"), [], {
      env: { PORT: String(barePort), UPSTREAM_PORT: String(appPort) },
      ready: answers200(url(barePort)),
    });
    children.push(bare);
    targets.push({ name: "bare-forwarder", url: url(barePort), pid: bare.pid });

    if (!existsSync(QUEUE_PROXY_MAIN)) {
      skipped.push({ name: "queue-proxy", reason: "not available (queue-proxy/main.ts missing)" });
    } else {
      try {
        const { child, target } = await startQueueProxy(appPort);
        children.push(child);
        targets.push(target);
      } catch (error) {
        skipped.push({ name: "queue-proxy", reason: `not available (did not start: ${firstLine(error)})` });
      }
    }

    const nginx = await nginxTarget(appPort);
    if ("reason" in nginx) skipped.push({ name: "nginx", reason: nginx.reason });
    else {
      children.push(nginx.child);
      targets.push(nginx.target);
    }

    for (const { name, reason } of skipped) console.log(`${name}: ${reason}`);
    const { idle, results } = await compareTargets(targets, options, {
      floor: "bare-forwarder",
      nginx: "nginx",
    });
    console.log(
      "\nCPU µs/req: CPU time (user + system) of the target's own process over a round, divided by the\n" +
        "requests it completed (for \"direct\", the app's); × columns divide it by the bare forwarder's\n" +
        "and nginx's. +p99: p99 latency minus the app's own. RSS in MB: idle before any load, and after\n" +
        "the last round. The load generator shares the machine's cores with the target and the app.",
    );
    const paced = await pacedReport(targets, options);
    summarize(results, idle, paced);
    const file = saveResults("queue-proxy", { options, skipped, idle, results, paced });
    console.log(`\nresults: ${file}`);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** The queue-proxy's targets (from its issue), each with the figure that decides it. */
function summarize(results: Measurement[], idle: ReturnType<typeof idleMemory>, paced: Paced): void {
  const at = (target: string, connections: number) =>
    results.find((r) => r.target === target && r.connections === connections);
  if (!results.some((r) => r.target === "queue-proxy")) return;
  console.log("\nqueue-proxy goals:");
  for (const connections of new Set(results.map((r) => r.connections))) {
    const qp = at("queue-proxy", connections);
    const bare = at("bare-forwarder", connections);
    const nginx = at("nginx", connections);
    const direct = at("direct", connections);
    if (!qp) continue;
    if (bare)
      console.log(
        `  ${connections} conns: CPU/req ${fixed(qp.cpuMicrosPerRequest / bare.cpuMicrosPerRequest)}× bare forwarder (goal ≤ 1.25)`,
      );
    if (nginx)
      console.log(
        `  ${connections} conns: CPU/req ${fixed(qp.cpuMicrosPerRequest / nginx.cpuMicrosPerRequest)}× nginx (goal < 3)`,
      );
    if (direct && connections === 8)
      console.log(
        `  ${connections} conns, saturating: added p99 ${fixed(qp.p99Ms - direct.p99Ms, 3)} ms (goal < 1)`,
      );
    if (connections === 64)
      console.log(`  ${connections} conns: RSS under load ${fixed(qp.rssMb, 0)} MB (goal < 100)`);
  }
  if (paced["queue-proxy"] && paced.direct)
    console.log(
      `  paced, 8 clients at ${PACED_RATE} req/s: added p99 ${fixed(paced["queue-proxy"].p99Ms - paced.direct.p99Ms, 3)} ms (goal < 1)`,
    );
  console.log(
    `  idle RSS ${fixed(idle["queue-proxy"].rss, 0)} MB (goal < 60), private ${fixed(idle["queue-proxy"].private, 0)} MB`,
  );
}
