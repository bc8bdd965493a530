// The eventing bench's `sluice up`, as a user runs it: one file with the subscriber Service
// (bench/apps/event-sink.ts, held at one pod so every path meets the same single app), a Broker, a
// Trigger to the Service and a KafkaSource to the Service. sluice up starts nats-server and the
// eventing component itself, and is given the bench's Kafka (--kafka). Handles: the URLs from the banner, the pids whose CPU and memory the
// bench reads, and the subscriber's control endpoints through the router.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { adopt } from "./lib/children.ts";
import { processTree } from "./lib/proc.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const SINK_HOST = "sink.default.example.com";
export const BROKER = "bench";
export const TRIGGER = "to-sink";
export const TOPIC = "bench-events";

/** What the subscriber says (bench/apps/event-sink.ts). */
export interface SinkStats {
  answered: number;
  unique: number;
  duplicates: number;
  noId: number;
  held: number;
  firstAt: number;
  lastAt: number;
}

/** The whole `sluice up` file: pure, so the test can read what the bench runs. */
export function eventingBenchYaml(kafkaBootstrap: string): string {
  const command = JSON.stringify([process.execPath, `${ROOT}bench/apps/event-sink.ts`]);
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: sink }
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/max-scale: "1"
    spec:
      containerConcurrency: 0
      timeoutSeconds: 1800
      containers:
        - command: ${command}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${BROKER} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${TRIGGER} }
spec:
  broker: ${BROKER}
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: sink }
  # Held deliveries (the memory figure's closed gate) must not time out and be retried.
  delivery: { timeout: PT1800S }
---
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: bench }
spec:
  bootstrapServers: ["${kafkaBootstrap}"]
  topics: [${TOPIC}]
  consumerGroup: sluice-bench
  initialOffset: earliest
  sink:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: sink }
`;
}

export interface EventingUp {
  routerUrl: string;
  brokerUrl: string;
  natsUrl: string;
  /** pids of the eventing component and of nats-server, found under sluice up. */
  pids: { eventing: number; nats: number };
  /** The eventing component's JS heap in use, MB (its /metrics: prom-client's process metrics). */
  eventingHeapMb(): Promise<number>;
  /**
   * The same after a full garbage collection: what the process holds, not what it has not
   * collected yet. A heap snapshot (--heapsnapshot-signal) is what forces the collection; it is
   * deleted at once. It costs seconds and grows the RSS: read the RSS first.
   */
  eventingLiveHeapMb(): Promise<number>;
  /** The subscriber's figures, through the router. */
  stats(): Promise<SinkStats>;
  reset(): Promise<void>;
  gate(open: boolean): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`eventing bench: ${what} within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** The first process under `root` whose command line has an argument matching `pattern`. */
function findPid(root: number, pattern: RegExp): number | undefined {
  return processTree(root).find((pid) => cmdline(pid).some((arg) => pattern.test(arg)));
}

export async function startEventingUp(dir: string, kafkaBootstrap: string): Promise<EventingUp> {
  const file = join(dir, "eventing-bench.yaml");
  const snapshots = join(dir, "heap-snapshots");
  mkdirSync(snapshots);
  writeFileSync(file, eventingBenchYaml(kafkaBootstrap));
  const args = ["up", "--state-dir", join(dir, "state"), "--router-port", "0", "--autoscaler-port", "0"];
  const child: ChildProcess = spawn(
    process.execPath,
    // --kafka: the bench's own Kafka (its topic made with the bench's partitions), not one sluice up starts.
    ["cli/main.ts", ...args, "--eventing-port", "0", "--kafka", kafkaBootstrap, "-f", file],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PATH: `${join(process.execPath, "..")}:${process.env.PATH}`,
        // Every Node process under sluice up gets it; only the eventing component is ever signalled.
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  adopt(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const banner = await until(
      "sluice up printed no banner",
      async () => {
        if (child.exitCode !== null) throw new Error(`sluice up exited ${child.exitCode}:\n${output}`);
        return output.includes("Ctrl-C stops everything") ? output : undefined;
      },
      120_000,
    ).catch((error) => {
      throw child.exitCode !== null ? new Error(`sluice up exited ${child.exitCode}:\n${output}`) : error;
    });
    const find = (label: string, pattern: string) => {
      const found = new RegExp(`^ {2}${label}\\s+(${pattern})`, "m").exec(banner)?.[1];
      if (!found) throw new Error(`eventing bench: no ${label} in sluice up's banner:\n${banner}`);
      return found;
    };
    const routerUrl = find("router", "http://127\\.0\\.0\\.1:\\d+");
    const brokerUrl = find("broker", `http://127\\.0\\.0\\.1:\\d+/default/${BROKER}`);
    const natsUrl = find("nats", "nats://127\\.0\\.0\\.1:\\d+");
    const eventingAdminUrl = find("eventing", "http://127\\.0\\.0\\.1:\\d+");
    const root = child.pid as number;
    const eventing = findPid(root, /(^|\/)eventing\/main\.ts$|\/eventing\.cjs$/);
    const nats = findPid(root, /(^|\/)nats-server$/);
    if (eventing === undefined || nats === undefined)
      throw new Error(`eventing bench: no ${eventing === undefined ? "eventing" : "nats-server"} process`);
    const agent = new Agent({ connections: 4 });
    const control = async (method: "GET" | "POST", path: string) => {
      const res = await request(`${routerUrl}${path}`, {
        method,
        headers: { host: SINK_HOST },
        dispatcher: agent,
        reset: true, // control calls are seconds apart: no kept-alive socket to race a close
      });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode} ${body}`);
      return JSON.parse(body) as unknown;
    };
    const heapMb = async () => {
      // A connection of its own (reset): the heap snapshot blocks the process for seconds, and a
      // kept-alive socket its server closes as it wakes resets the next request on it.
      const res = await request(`${eventingAdminUrl}/metrics`, { dispatcher: agent, reset: true });
      const text = await res.body.text();
      const bytes = /^\w*nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
      return bytes === undefined ? Number.NaN : Number(bytes) / 1024 / 1024;
    };
    const up: EventingUp = {
      routerUrl,
      brokerUrl,
      natsUrl,
      pids: { eventing, nats },
      eventingHeapMb: heapMb,
      eventingLiveHeapMb: async () => {
        process.kill(eventing, "SIGUSR2");
        // The snapshot is written on the process's own thread: once its file is there and the
        // process answers again, the collection is done.
        await until(
          "no heap snapshot",
          async () => (readdirSync(snapshots).length > 0 ? true : undefined),
          120_000,
        );
        const live = await heapMb();
        for (const name of readdirSync(snapshots)) rmSync(join(snapshots, name), { force: true });
        return live;
      },
      stats: async () => (await control("GET", "/__bench/stats")) as SinkStats,
      reset: async () => void (await control("POST", "/__bench/reset")),
      gate: async (open) => void (await control("POST", `/__bench/gate?open=${open ? 1 : 0}`)),
      output: () => output,
      stop: async () => {
        await agent.close();
        await stop();
      },
    };
    // The Service's one pod answers through the router.
    await until("the subscriber did not answer through the router", () => up.stats(), 120_000);
    return up;
  } catch (error) {
    await stop();
    throw error;
  }
}
