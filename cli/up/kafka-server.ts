// The Kafka `sluice up` provides when the files hold KafkaSources on a local address (loopback):
// one it starts (scripts/tools/kafka-start.sh: Apache Kafka 4.x in KRaft mode on 127.0.0.1, from
// the jars scripts/tools/build.sh kafka fetched, on Java 17+), or a running one given with
// `--kafka host:port`. Those KafkaSources are pointed at it, and pods get its address as
// KAFKA_BOOTSTRAP_SERVERS (the local platform passes its environment on), so an app that
// produces what a KafkaSource consumes finds the same Kafka. A local address that already takes
// connections is the user's own Kafka: used as it is, nothing started. KafkaSources naming other
// hosts are someone's real cluster: left as they are, and nothing is started for them.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Admin } from "@platformatic/kafka";
import { isMap, parseAllDocuments } from "yaml";
import { freePorts } from "../../common/free-port.ts";
import type { SourceManifest } from "../../eventing/resources/source-manifest.ts";
import { type RunningTool, runTool } from "./observability-tools.ts";

const START_SCRIPT = fileURLToPath(new URL("../../scripts/tools/kafka-start.sh", import.meta.url));
/** A JVM start and a storage format take 15–25 s on a loaded 2-core machine; more is a failure. */
const START_TIMEOUT_MS = 120_000;
/**
 * Partitions of the topics sluice up creates. A KafkaSource delivers one record at a time per
 * partition (Knative's ordered mode), so this is how many requests its sink gets at once — what
 * lets a sink scale out. Kafka's own default (1) would keep it at one pod.
 */
export const TOPIC_PARTITIONS = 8;

export const KAFKA_MISSING =
  "Kafka not found (KafkaSources on 127.0.0.1 need one): fetch it with scripts/tools/build.sh kafka " +
  "(it goes to ~/.cache/sluice/kafka; it runs on Java 17+), or give --kafka host:port of a running broker";

/** Why sluice up cannot start Kafka here (no jars, no java), or undefined when it can. */
export function kafkaMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const libs = join(
    env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice"),
    "kafka",
    "current",
    "libs",
  );
  if (!existsSync(libs)) return KAFKA_MISSING;
  if (spawnSync("java", ["-version"], { stdio: "ignore" }).status !== 0)
    return `${KAFKA_MISSING} (java not found: apt-get install openjdk-17-jre-headless)`;
  return undefined;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** Whether a bootstrap server ("host:port") is on this machine. */
export function isLoopbackServer(server: string): boolean {
  const host = server.trim().replace(/:\d+$/, "");
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || host.startsWith("127.");
}

/** A KafkaSource's servers, each entry possibly a comma-separated list (as compile-sources reads them). */
function serversOf(source: SourceManifest): string[] {
  if (source.kind !== "KafkaSource") return [];
  return source.spec.bootstrapServers.flatMap((s) => s.split(",").map((x) => x.trim()));
}

/** Whether sluice up's Kafka serves this source: a KafkaSource whose every server is local. */
export function isLocalKafkaSource(source: SourceManifest): boolean {
  const servers = serversOf(source);
  return servers.length > 0 && servers.every(isLoopbackServer);
}

/** The topics of the local KafkaSources, each once. */
export function localKafkaTopics(sources: readonly SourceManifest[]): string[] {
  return [
    ...new Set(
      sources.filter(isLocalKafkaSource).flatMap((s) => (s.kind === "KafkaSource" ? s.spec.topics : [])),
    ),
  ];
}

/**
 * The text of an Eventing file with its local KafkaSources' bootstrapServers set to `bootstrap`;
 * the text as it is when it has none (its positions then stay the file's). Pure.
 */
export function pointKafkaSourcesAt(text: string, bootstrap: string): string {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return text;
  let changed = false;
  for (const doc of docs) {
    const value: unknown = doc.toJS();
    if (!isMap(doc.contents) || !isKafkaSource(value) || !isLocalKafkaSource(value)) continue;
    doc.setIn(["spec", "bootstrapServers"], doc.createNode([bootstrap], { flow: true }));
    changed = true;
  }
  return changed ? docs.map((doc) => doc.toString()).join("") : text;
}

function isKafkaSource(value: unknown): value is SourceManifest {
  const v = value as { kind?: unknown; spec?: { bootstrapServers?: unknown } } | null;
  return v?.kind === "KafkaSource" && Array.isArray(v.spec?.bootstrapServers);
}

export interface RunningKafka extends RunningTool {
  /** 127.0.0.1:port, for bootstrap servers. */
  bootstrap: string;
}

/** What sluice up uses: the address at once (pods' environment), the broker once it is ready. */
export interface KafkaPlan {
  bootstrap: string;
  /** "started by sluice up" or "--kafka". */
  origin: string;
  /** The broker sluice up started (undefined with --kafka); spawned already, maybe not ready. */
  started: RunningKafka | undefined;
  /** Resolves once the broker takes clients and the sources' topics exist. */
  ready: Promise<void>;
}

/** Whether something takes TCP connections at `server` ("host:port") within `timeoutMs`. */
export function listening(server: string, timeoutMs = 1000): Promise<boolean> {
  const at = server.lastIndexOf(":");
  const host = server.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(server.slice(at + 1));
  if (at < 0 || !Number.isInteger(port)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

/**
 * The Kafka for the files' local KafkaSources, or undefined when they have none. With `given`
 * (--kafka) nothing is started, nor when a local KafkaSource's server already takes connections
 * (the user's own Kafka on this machine: sources and pods use it). Otherwise a broker is spawned at once on free ports, its data in
 * `dir` (emptied first: its ports change every run, and a KRaft log remembers its controller's),
 * and `ready` creates the sources' missing topics with TOPIC_PARTITIONS partitions.
 */
export async function planKafka(
  given: string | undefined,
  sources: readonly SourceManifest[],
  dir: string,
): Promise<KafkaPlan | undefined> {
  const topics = localKafkaTopics(sources);
  if (topics.length === 0) return undefined;
  if (given !== undefined)
    return { bootstrap: given, origin: "--kafka", started: undefined, ready: Promise.resolve() };
  const named = sources.filter(isLocalKafkaSource).flatMap(serversOf);
  for (const server of new Set(named))
    if (await listening(server))
      return { bootstrap: server, origin: "already running", started: undefined, ready: Promise.resolve() };
  const missing = kafkaMissing();
  if (missing !== undefined) throw new Error(missing);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [port, controllerPort] = await freePorts(2);
  const bootstrap = `127.0.0.1:${port}`;
  const tool = runTool("kafka", START_SCRIPT, [dir, String(port), String(controllerPort)], bootstrap);
  const started: RunningKafka = { ...tool, bootstrap };
  const ready = (async () => {
    await waitForStart(started);
    await createTopics(bootstrap, topics, TOPIC_PARTITIONS);
  })();
  ready.catch(() => {}); // awaited by sluice up; not an unhandled rejection meanwhile
  return { bootstrap, origin: "started by sluice up", started, ready };
}

async function waitForStart(kafka: RunningKafka): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!kafka.output().includes("Kafka Server started")) {
    if (kafka.child.exitCode !== null || kafka.child.signalCode !== null)
      throw new Error(`Kafka exited before it started:\n${kafka.output()}`);
    if (Date.now() > deadline) {
      kafka.child.kill("SIGKILL");
      throw new Error(`Kafka did not start within ${START_TIMEOUT_MS / 1000} s:\n${kafka.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Creates the topics that do not exist yet. */
export async function createTopics(bootstrap: string, topics: string[], partitions: number): Promise<void> {
  // A fresh broker has no controller answer for a moment: the client's retries cover it.
  const admin = new Admin({
    clientId: "sluice-up",
    bootstrapBrokers: [bootstrap],
    retries: 20,
    retryDelay: 500,
  });
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) await admin.createTopics({ topics: missing, partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}
