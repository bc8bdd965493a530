// A real Apache Kafka 4.x broker (KRaft: broker and controller in one JVM) for tests, on
// 127.0.0.1, started by scripts/tools/kafka-start.sh from the jars build.sh fetched. A JVM
// start and a storage format take ~15 s here: start one per test file, not per test.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../../common/free-port.ts";
import { ROOT } from "./processes.ts";
import { skipUnlessTool } from "./required-tool.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

function kafkaLibs(): string {
  return join(
    process.env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice"),
    "kafka",
    "current",
    "libs",
  );
}

function hasJava(): boolean {
  try {
    execFileSync("java", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The `skip` option for a test needing Kafka: its jars and a Java runtime (fails under CI=true). */
export function skipUnlessKafka(): string | false {
  return (
    skipUnlessTool("java", hasJava(), "apt-get install openjdk-17-jre-headless") ||
    skipUnlessTool("Kafka", existsSync(kafkaLibs()), "scripts/tools/build.sh kafka")
  );
}

export interface KafkaBroker {
  /** host:port for a client's bootstrap servers. */
  bootstrap: string;
  port: number;
  child: ChildProcess;
  output: () => string;
}

/** Starts to try: a port chosen free may be taken by another test before the JVM binds it. */
const START_ATTEMPTS = 3;

/**
 * Starts a broker; resolves once it logs "Kafka Server started". Its ports come from the OS
 * (freePorts: held together, so the two differ): the controller's must be known before start, in
 * the voter set. Seconds pass between choosing them and the JVM binding them, so a start that
 * finds one taken ("Address already in use") is tried again on new ports. `autoCreateTopics:
 * false` makes a consumer of a missing topic see it missing.
 */
export async function startKafka(
  t: Teardown,
  { timeoutMs = 90_000, autoCreateTopics = true } = {},
): Promise<KafkaBroker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKafkaOnce(t, timeoutMs, autoCreateTopics);
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !/Address already in use/.test((error as Error).message)) throw error;
    }
  }
}

async function startKafkaOnce(
  t: Teardown,
  timeoutMs: number,
  autoCreateTopics: boolean,
): Promise<KafkaBroker> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-kafka-"));
  const [port, controllerPort] = await freePorts(2);
  const child = spawn(
    join(ROOT, "scripts/tools/kafka-start.sh"),
    [dir, String(port), String(controllerPort)],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KAFKA_AUTO_CREATE_TOPICS: String(autoCreateTopics) },
    },
  );
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM"); // a controlled shutdown takes a second or two
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Kafka did not start in time:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("Kafka Server started")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Kafka exited with ${code} before it started:\n${output}`));
    });
  });
  return { bootstrap: `127.0.0.1:${port}`, port, child, output: () => output };
}
