// npm run bench -- queue-proxy: the app direct, through the queue-proxy, through the bare undici
// forwarder (the floor for a Node proxy) and through nginx (when installed), in one run.
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { type Child, forkAndWait } from "./lib/children.ts";
import {
  type CompareOptions,
  idleMemory,
  measureAll,
  report,
  saveResults,
  type Target,
} from "./lib/compare.ts";
import { NGINX, startNginx } from "./lib/nginx.ts";
import { type PacedResult, pacedLatency } from "./lib/paced-latency.ts";
import { fixed } from "./lib/table.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

async function waitReady(adminPort: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await request(`http://127.0.0.1:${adminPort}/readyz`);
      await res.body.text();
      if (res.statusCode === 200) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("queue-proxy did not become ready");
}

export async function benchQueueProxy(options: CompareOptions): Promise<void> {
  const app = await forkAndWait(here("apps/hello.ts"), { PORT: "0" });
  const appPort = app.message.port as number;
  const bare = await forkAndWait(here("apps/bare-forwarder.ts"), {
    PORT: "0",
    UPSTREAM_PORT: String(appPort),
  });
  const queueProxy = await forkAndWait(here("../queue-proxy/main.ts"), {
    USER_PORT: String(appPort),
    QUEUE_SERVING_PORT: "0",
    QUEUE_ADMIN_PORT: "0",
    QUEUE_METRICS_PORT: "-1",
    CONTAINER_CONCURRENCY: "0",
    SERVING_SERVICE: "bench",
    SERVING_REVISION: "bench-00001",
  });
  await waitReady(queueProxy.message.adminPort as number);

  const url = (port: unknown) => `http://127.0.0.1:${port}/`;
  const targets: Target[] = [
    { name: "direct", url: url(appPort), pid: app.pid },
    { name: "bare-forwarder", url: url(bare.message.port), pid: bare.pid },
    { name: "queue-proxy", url: url(queueProxy.message.servingPort), pid: queueProxy.pid },
  ];
  let nginx: (Child & { port: number }) | undefined;
  if (NGINX) {
    nginx = await startNginx(appPort);
    targets.push({ name: "nginx", url: url(nginx.port), pid: nginx.pid, tree: true });
  } else {
    console.log("nginx: not installed, skipped (apt-get install nginx-light to compare against it)");
  }

  const idle = idleMemory(targets);
  console.log(`load: ${options.load}, ${options.seconds} s per run after ${options.warmupSeconds} s warm-up`);
  const results = await measureAll(targets, options);
  report(results, "proxy", { floor: "bare-forwarder", nginx: nginx ? "nginx" : undefined });

  const paced = await pacedReport(targets, options);

  console.log("\nidle memory (MB, before load):");
  for (const [name, memory] of Object.entries(idle)) {
    console.log(
      `  ${name.padEnd(15)} RSS ${fixed(memory.rss, 0).padStart(4)}  private ${fixed(memory.private, 0).padStart(4)}`,
    );
  }
  summarize(results, idle, paced);
  console.log(`\nresults: ${saveResults("queue-proxy", { options, idle, results, paced })}`);
  await Promise.all([app, bare, queueProxy, nginx].map((child) => child?.stop()));
}

const PACED_CLIENTS = 8;
const PACED_RATE = 1000;

const PACED_ROUNDS = 3;

/**
 * Added latency of each hop below saturation (8 clients, 1,000 req/s in all). Targets take turns
 * over several rounds and each reports its median round, so one GC pause or scheduler hiccup on
 * this 2-core machine does not decide the figure.
 */
async function pacedReport(
  targets: Target[],
  options: CompareOptions,
): Promise<Record<string, { p50Ms: number; p99Ms: number }>> {
  const roundSeconds = Math.max(2, options.seconds / PACED_ROUNDS);
  console.log(
    `\npaced latency: ${PACED_CLIENTS} clients, ${PACED_RATE} req/s in all, median of ${PACED_ROUNDS} rounds of ${roundSeconds} s`,
  );
  // Warm the measuring client (JIT, connections) first: otherwise the first target pays for it.
  for (const target of targets)
    await pacedLatency(target.url, PACED_CLIENTS, PACED_RATE, Math.max(1, options.warmupSeconds));
  const rounds = new Map<string, PacedResult[]>(targets.map((target) => [target.name, []]));
  for (let round = 0; round < PACED_ROUNDS; round++) {
    for (const target of targets)
      rounds.get(target.name)?.push(await pacedLatency(target.url, PACED_CLIENTS, PACED_RATE, roundSeconds));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const paced: Record<string, { p50Ms: number; p99Ms: number }> = {};
  for (const target of targets) {
    const results = rounds.get(target.name) ?? [];
    const result = { p50Ms: median(results.map((r) => r.p50Ms)), p99Ms: median(results.map((r) => r.p99Ms)) };
    paced[target.name] = result;
    const added =
      target.name === "direct"
        ? ""
        : `  +p50 ${fixed(result.p50Ms - paced.direct.p50Ms, 3)} ms  +p99 ${fixed(result.p99Ms - paced.direct.p99Ms, 3)} ms`;
    const errors = results.reduce((sum, r) => sum + r.errors, 0);
    console.log(
      `  ${target.name.padEnd(15)} p50 ${fixed(result.p50Ms, 3)} ms  p99 ${fixed(result.p99Ms, 3)} ms${added}  (${errors} errors)`,
    );
  }
  return paced;
}

/** The goals, each with the figure that decides it. */
function summarize(
  results: Awaited<ReturnType<typeof measureAll>>,
  idle: ReturnType<typeof idleMemory>,
  paced: Record<string, { p99Ms: number }>,
): void {
  const at = (target: string, connections: number) =>
    results.find((r) => r.target === target && r.connections === connections);
  console.log("\ngoals:");
  for (const connections of new Set(results.map((r) => r.connections))) {
    const qp = at("queue-proxy", connections);
    const bare = at("bare-forwarder", connections);
    const nginx = at("nginx", connections);
    if (!qp || !bare) continue;
    const vsBare = qp.cpuMicrosPerRequest / bare.cpuMicrosPerRequest;
    console.log(`  ${connections} conns: CPU/req ${fixed(vsBare)}× bare forwarder (goal ≤ 1.25)`);
    if (nginx)
      console.log(
        `  ${connections} conns: CPU/req ${fixed(qp.cpuMicrosPerRequest / nginx.cpuMicrosPerRequest)}× nginx (goal < 3)`,
      );
  }
  const qp8 = at("queue-proxy", 8);
  const direct8 = at("direct", 8);
  if (qp8 && direct8) {
    console.log(`  8 conns, saturating: added p99 ${fixed(qp8.p99Ms - direct8.p99Ms, 3)} ms (goal < 1)`);
  }
  const pacedAdded = paced["queue-proxy"].p99Ms - paced.direct.p99Ms;
  console.log(`  8 clients paced at ${PACED_RATE} req/s: added p99 ${fixed(pacedAdded, 3)} ms (goal < 1)`);
  console.log(
    `  idle RSS ${fixed(idle["queue-proxy"].rss, 0)} MB (goal < 60), private ${fixed(idle["queue-proxy"].private, 0)} MB`,
  );
  const qp64 = at("queue-proxy", 64);
  if (qp64)
    console.log(
      `  64 conns: RSS ${fixed(qp64.rssMb, 0)} MB (goal < 100), private ${fixed(qp64.privateMb, 0)} MB`,
    );
}
