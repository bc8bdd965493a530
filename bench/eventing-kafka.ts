// The eventing bench's Kafka: one real broker (Apache Kafka 4.x, KRaft) started by
// scripts/tools/kafka-start.sh on free loopback ports (as test/helpers/kafka.ts does for tests, which
// brings tap), a topic, and an idempotent producer (a send retried on a busy machine must not store
// a record twice: the bench counts every record).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Admin, Producer } from "@platformatic/kafka";
import { freePorts } from "../common/free-port.ts";
import { adopt } from "./lib/children.ts";

const START_SCRIPT = fileURLToPath(new URL("../scripts/tools/kafka-start.sh", import.meta.url));
const BATCH = 1000;

/** Why Kafka cannot run here (no jars, no Java), or undefined when it can. */
export function kafkaMissing(): string | undefined {
  const cache = process.env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice");
  if (!existsSync(join(cache, "kafka", "current", "libs")))
    return "Kafka not found: scripts/tools/build.sh kafka (to ~/.cache/sluice/kafka)";
  try {
    execFileSync("java", ["-version"], { stdio: "ignore" });
  } catch {
    return "java not found (Kafka needs Java 17): apt-get install openjdk-17-jre-headless";
  }
  return undefined;
}

export interface BenchKafka {
  bootstrap: string;
  pid: number;
  /** Creates `topic` with `partitions` partitions. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Sends `count` records of ~100 bytes to `topic`, keyed `{prefix}{i}`, in batches of 1,000. */
  produce(topic: string, count: number, prefix: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startKafka({ timeoutMs = 120_000 } = {}): Promise<BenchKafka> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-kafka-"));
  const [port, controllerPort] = await freePorts(2);
  const child: ChildProcess = spawn(START_SCRIPT, [dir, String(port), String(controllerPort)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  adopt(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Kafka did not start within ${timeoutMs / 1000} s:\n${output.slice(-4000)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output = (output + chunk).slice(-20_000);
      if (output.includes("Kafka Server started")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Kafka exited with ${code} before it started:\n${output.slice(-4000)}`));
    });
  });
  const bootstrap = `127.0.0.1:${port}`;
  const client = { clientId: "sluice-bench", bootstrapBrokers: [bootstrap], retries: 10, retryDelay: 500 };
  const producer = new Producer({ ...client, idempotent: true });
  const value = Buffer.from(JSON.stringify({ comment: "x".repeat(80) }));
  return {
    bootstrap,
    pid: child.pid as number,
    async createTopic(topic, partitions) {
      const admin = new Admin(client);
      try {
        await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
      } finally {
        await admin.close();
      }
    },
    async produce(topic, count, prefix) {
      for (let first = 0; first < count; first += BATCH) {
        const messages = [];
        for (let i = first; i < Math.min(first + BATCH, count); i++)
          messages.push({ topic, key: Buffer.from(`${prefix}${i}`), value });
        await producer.send({ messages });
      }
    },
    async stop() {
      await producer.close().catch(() => {});
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM"); // a controlled shutdown takes a second or two
        const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
