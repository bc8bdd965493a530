// npm run bench -- eventing: issue 15's figures, through `sluice up` as a user runs it, with a real
// Kafka (started here) and the nats-server sluice up starts for the Broker.
//
// Throughput: the same events (count, size, binary-mode CloudEvents) reach the same subscriber
// (bench/apps/event-sink.ts, one pod) three ways, in interleaved rounds: POSTed straight to the
// service through the router ("direct"), POSTed to a Broker whose Trigger delivers them through
// the router, and produced to a Kafka topic whose KafkaSource delivers them through the router.
// Each figure is events over the time from the first send to the subscriber's answer to the last
// new id; the subscriber counts by id, so loss and duplicates are counted, not assumed.
//
// Memory (measured first, on the warmed-up processes): the subscriber stops answering (a gate; its
// held requests are the Trigger's deliveries in flight), `queued` events are POSTed to the Broker,
// and the eventing component's and nats-server's RSS are read while they wait in JetStream; then
// the subscriber answers again and every event must drain, counted by id. A Trigger added after
// the events would not do: the stream keeps an event only for the consumers that exist when it
// is stored (interest retention), and a new Trigger starts from new events, as in Knative.
//
// `node bench/eventing.ts --help` for the sizes; npm run bench runs the defaults.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Pool } from "undici";
import { NATS_MISSING, natsServerPath } from "../cli/up/nats-server.ts";
import { consumerName, streamName } from "../eventing/store/names.ts";
import {
  type EventPath,
  PATHS,
  type PathRun,
  summarise,
  THROUGHPUT_HEADERS,
  throughputCells,
} from "./eventing-figures.ts";
import { kafkaMissing, startKafka } from "./eventing-kafka.ts";
import {
  BROKER,
  type EventingUp,
  SINK_HOST,
  type SinkStats,
  startEventingUp,
  TOPIC,
  TRIGGER,
} from "./eventing-up.ts";
import { cpuMicros, memoryMb } from "./lib/proc.ts";
import { saveResults } from "./lib/results.ts";
import { fixed, printTable } from "./lib/table.ts";

export interface EventingSizes {
  /** Events per path per round (default 10,000). */
  events: number;
  /** Interleaved rounds of the three paths; each figure is the median round (default 3). */
  rounds: number;
  /** Events per path sent and delivered before measuring: pod, pools and consumer group warm (default 500). */
  warmup: number;
  /** Concurrent HTTP senders, direct and to the Broker (default 32). */
  connections: number;
  /** The Kafka topic's partitions: the KafkaSource delivers one record at a time per partition (default 8). */
  partitions: number;
  /** Events queued behind a subscriber that does not answer, for the memory figure (default 100,000). */
  queued: number;
}

export const DEFAULT_SIZES: EventingSizes = {
  events: 10_000,
  rounds: 3,
  warmup: 500,
  connections: 32,
  partitions: 8,
  queued: 100_000,
};

type Rss = { eventing: number; nats: number };
/**
 * RSS of the eventing component and of nats-server, and the eventing component's JS heap in use,
 * as it was and after a full collection (live; NaN, null in the JSON, when not collected), MB.
 */
type Memory = Rss & { eventingHeap: number; eventingLiveHeap: number };

export interface BacklogFigures {
  queued: number;
  /** POSTs the Broker did not answer 202. */
  refused: number;
  /** To POST them all (each 202 means stored in JetStream), s. */
  postSeconds: number;
  /** The Broker's stream and the Trigger's consumer once they were posted. */
  streamMessages: number;
  streamMb: number;
  pending: number;
  ackPending: number;
  /** Deliveries held unanswered at the subscriber meanwhile. */
  held: number;
  memoryMb: { idle: Memory; queued: Memory; peak: Rss; drained: Memory };
  /** From the subscriber answering again to its answer to the last new id, s. */
  drainSeconds: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Messages left in the stream after the drain (0: all acknowledged). */
  streamAfter: number;
}

export interface EventingResult {
  sizes: EventingSizes;
  load: { before: number[]; after: number[] };
  runs: PathRun[];
  backlog: BacklogFigures;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const BODY = Buffer.from(JSON.stringify({ comment: "x".repeat(80) }));

/** POSTs `count` binary-mode CloudEvents, ids `{prefix}{i}`, over `connections`; returns those refused. */
async function postEvents(
  url: string,
  count: number,
  prefix: string,
  connections: number,
  host?: string,
): Promise<number> {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections, keepAliveTimeout: 60_000 });
  let next = 0;
  let refused = 0;
  const sender = async () => {
    while (next < count) {
      const id = `${prefix}${next++}`;
      try {
        const res = await pool.request({
          method: "POST",
          path: pathname,
          headers: {
            ...(host ? { host } : {}),
            "ce-specversion": "1.0",
            "ce-id": id,
            "ce-source": "/sluice-bench",
            "ce-type": "bench.event",
            "content-type": "application/json",
          },
          body: BODY,
        });
        await res.body.dump();
        if (res.statusCode >= 300) refused++;
      } catch {
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, count) }, sender));
  await pool.close();
  return refused;
}

/** Polls the subscriber until `count` distinct ids were answered, or the time is up. */
async function waitDelivered(up: EventingUp, count: number, timeoutMs: number): Promise<SinkStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await up.stats();
    if (stats.unique >= count || Date.now() > deadline) return stats;
    await sleep(50);
  }
}

/** Bounded waits: generous for a busy 2-core machine (at least 50 events/s), never unbounded. */
const deliveryTimeoutMs = (events: number) => Math.max(60_000, events * 20);

type Send = (count: number, prefix: string) => Promise<number>;

async function measure(
  up: EventingUp,
  path: EventPath,
  round: number,
  events: number,
  send: Send,
  log: (line: string) => void,
): Promise<PathRun> {
  await up.reset();
  const cpuBefore = { eventing: cpuMicros(up.pids.eventing), nats: cpuMicros(up.pids.nats) };
  const started = Date.now();
  const sendErrors = await send(events, `${path}-${round}-`);
  const stats = await waitDelivered(up, events - sendErrors, deliveryTimeoutMs(events));
  const cpuMicrosUsed = {
    eventing: cpuMicros(up.pids.eventing) - cpuBefore.eventing,
    nats: cpuMicros(up.pids.nats) - cpuBefore.nats,
  };
  await sleep(1000); // late duplicates
  const settled = await up.stats();
  const run: PathRun = {
    path,
    round,
    events,
    unique: settled.unique,
    duplicates: settled.duplicates,
    sendErrors,
    seconds: (stats.lastAt - started) / 1000,
    cpuMicros: cpuMicrosUsed,
  };
  log(
    `round ${round} ${path}: ${run.unique}/${events} in ${fixed(run.seconds)} s = ${fixed(run.unique / run.seconds, 0)} events/s` +
      `, ${run.duplicates} duplicates, ${sendErrors} refused`,
  );
  return run;
}

async function measureBacklog(
  up: EventingUp,
  sizes: EventingSizes,
  log: (line: string) => void,
): Promise<BacklogFigures> {
  const nc = await connect({ servers: up.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = streamName("default", BROKER);
    const consumer = consumerName(TRIGGER);
    const rss = (): Rss => ({
      eventing: memoryMb(up.pids.eventing).rss,
      nats: memoryMb(up.pids.nats).rss,
    });
    // RSS first: the collection's heap snapshot grows it, for good. Hence none before the backlog
    // (its RSS would carry it); the heap in use then is an upper bound of what was live.
    const memory = async (collect = true): Promise<Memory> => {
      const now = { ...rss(), eventingHeap: await up.eventingHeapMb() };
      return { ...now, eventingLiveHeap: collect ? await up.eventingLiveHeapMb() : Number.NaN };
    };
    await up.reset();
    await up.gate(false);
    const idle = await memory(false);
    const peak = { eventing: idle.eventing, nats: idle.nats };
    const sampler = setInterval(() => {
      const now = rss();
      peak.eventing = Math.max(peak.eventing, now.eventing);
      peak.nats = Math.max(peak.nats, now.nats);
    }, 250);
    const posted = Date.now();
    const refused = await postEvents(up.brokerUrl, sizes.queued, "queued-", sizes.connections);
    const postSeconds = (Date.now() - posted) / 1000;
    const stored = sizes.queued - refused;
    log(
      `posted ${sizes.queued} events to the Broker in ${fixed(postSeconds)} s (${refused} refused); subscriber not answering`,
    );
    // Queued: every stored event is in the stream, held at the subscriber or pending in the consumer.
    const deadline = Date.now() + 60_000;
    let info = await jsm.consumers.info(stream, consumer);
    while (info.num_pending + info.num_ack_pending < stored && Date.now() < deadline) {
      await sleep(200);
      info = await jsm.consumers.info(stream, consumer);
    }
    await sleep(2000); // settled: what it costs to hold them, not to take them in
    const streamInfo = await jsm.streams.info(stream);
    clearInterval(sampler);
    const queued = await memory();
    info = await jsm.consumers.info(stream, consumer);
    const held = (await up.stats()).held;
    peak.eventing = Math.max(peak.eventing, queued.eventing);
    peak.nats = Math.max(peak.nats, queued.nats);
    log(
      `queued: stream ${streamInfo.state.messages} messages, consumer ${info.num_pending} pending + ${info.num_ack_pending} in flight, ${held} held; ` +
        `RSS eventing ${fixed(queued.eventing, 0)} MB (JS heap ${fixed(queued.eventingHeap, 0)} MB, ${fixed(queued.eventingLiveHeap, 0)} MB live), nats-server ${fixed(queued.nats, 0)} MB`,
    );

    const opened = Date.now();
    await up.gate(true);
    const stats = await waitDelivered(up, stored, deliveryTimeoutMs(stored));
    const drainSeconds = (stats.lastAt - opened) / 1000;
    const drained = await memory();
    // Acks reach the stream shortly after the answers: interest retention then removes the events.
    let streamAfter = (await jsm.streams.info(stream)).state.messages;
    for (let i = 0; i < 100 && streamAfter > 0; i++) {
      await sleep(200);
      streamAfter = (await jsm.streams.info(stream)).state.messages;
    }
    const settled = await up.stats();
    log(
      `drained: ${settled.unique}/${stored} in ${fixed(drainSeconds)} s, ${settled.duplicates} duplicates, ${streamAfter} left in the stream`,
    );
    return {
      queued: sizes.queued,
      refused,
      postSeconds,
      streamMessages: streamInfo.state.messages,
      streamMb: streamInfo.state.bytes / 1024 / 1024,
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
      held,
      memoryMb: { idle, queued, peak, drained },
      drainSeconds,
      delivered: settled.unique,
      lost: stored - settled.unique,
      duplicates: settled.duplicates,
      streamAfter,
    };
  } finally {
    await nc.close();
  }
}

/** Why the bench cannot run here, or undefined. */
export function eventingMissing(): string | undefined {
  return natsServerPath() === undefined ? NATS_MISSING : kafkaMissing();
}

/** Starts Kafka and sluice up, measures, stops them. Progress goes to `log`. */
export async function runEventing(
  sizes: EventingSizes = DEFAULT_SIZES,
  log: (line: string) => void = () => {},
): Promise<EventingResult> {
  const missing = eventingMissing();
  if (missing) throw new Error(missing);
  const before = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-eventing-"));
  const kafka = await startKafka();
  let up: EventingUp | undefined;
  try {
    await kafka.createTopic(TOPIC, sizes.partitions);
    log(`Kafka at ${kafka.bootstrap}, topic ${TOPIC} (${sizes.partitions} partitions); starting sluice up`);
    up = await startEventingUp(dir, kafka.bootstrap);
    const ready = up;
    log(`sluice up: router ${ready.routerUrl}, broker ${ready.brokerUrl}, ${ready.natsUrl}`);
    const senders: Record<EventPath, Send> = {
      direct: (count, prefix) => postEvents(ready.routerUrl, count, prefix, sizes.connections, SINK_HOST),
      broker: (count, prefix) => postEvents(ready.brokerUrl, count, prefix, sizes.connections),
      kafka: async (count, prefix) => {
        await kafka.produce(TOPIC, count, prefix);
        return 0;
      },
    };
    for (const path of PATHS) {
      if (sizes.warmup === 0) break;
      await ready.reset();
      const refused = await senders[path](sizes.warmup, `warmup-${path}-`);
      // The first Kafka records wait for the consumer group to form: a minute on a busy machine.
      const stats = await waitDelivered(ready, sizes.warmup - refused, 180_000);
      if (stats.unique < sizes.warmup - refused)
        throw new Error(
          `warm-up ${path}: ${stats.unique}/${sizes.warmup} delivered in 180 s; sluice up said:\n${ready.output().slice(-4000)}`,
        );
    }
    // The backlog first: its "before" is the process as warmed up, not as the rounds left it.
    const backlog = await measureBacklog(ready, sizes, log);
    const runs: PathRun[] = [];
    for (let round = 1; round <= sizes.rounds; round++)
      for (const path of PATHS)
        runs.push(await measure(ready, path, round, sizes.events, senders[path], log));
    return { sizes, load: { before, after: loadavg() }, runs, backlog };
  } finally {
    await up?.stop();
    await kafka.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const load = (averages: number[]) => averages.map((value) => value.toFixed(2)).join(", ");

/** The tables of a run. */
export function printEventing(result: EventingResult): void {
  const { sizes, backlog } = result;
  console.log(
    `\nthroughput: ${sizes.events} events per path per round (~${BODY.length}-byte JSON, binary mode), ${sizes.rounds} interleaved rounds, ` +
      `the median round; ${sizes.connections} HTTP senders; Kafka topic of ${sizes.partitions} partitions; ` +
      "one subscriber pod through the router on every path",
  );
  printTable(THROUGHPUT_HEADERS, summarise(result.runs).map(throughputCells));
  const mb = (value: number) => fixed(value, 0);
  console.log(
    `\nmemory: ${backlog.queued} events POSTed to the Broker (${fixed(backlog.postSeconds, 1)} s, ${backlog.refused} refused) while the subscriber did not answer`,
  );
  const row = (name: string, memory: Memory, stream: string) => [
    name,
    mb(memory.eventing),
    mb(memory.eventingHeap),
    mb(memory.eventingLiveHeap),
    mb(memory.nats),
    stream,
  ];
  const { idle, queued, peak, drained } = backlog.memoryMb;
  printTable(
    ["", "eventing RSS MB", "JS heap MB", "live heap MB", "nats-server RSS MB", "in the stream"],
    [
      row("warmed up, before", idle, "-"),
      row(
        `${backlog.queued} queued`,
        queued,
        `${backlog.streamMessages} (${fixed(backlog.streamMb, 1)} MB; ${backlog.pending} pending, ${backlog.ackPending} in flight, ${backlog.held} held)`,
      ),
      ["peak while posting/queued", mb(peak.eventing), "-", "-", mb(peak.nats), "-"],
      row("drained", drained, String(backlog.streamAfter)),
    ],
  );
  console.log(
    "JS heap: the eventing component's heap in use (its /metrics); live heap: the same after a full collection, forced by a heap snapshot " +
      "(none before the backlog: the snapshot grows the RSS for good)",
  );
  console.log(
    `drain: ${backlog.delivered} delivered in ${fixed(backlog.drainSeconds, 1)} s (${fixed(backlog.delivered / backlog.drainSeconds, 0)} events/s) ` +
      `once the subscriber answered; ${backlog.lost} lost, ${backlog.duplicates} duplicates`,
  );
  console.log(
    `load average (1, 5, 15 min): ${load(result.load.before)} before, ${load(result.load.after)} after`,
  );
}

/** What `npm run bench -- eventing` runs: the default sizes (its --duration etc. are the comparison's). */
export async function benchEventing(): Promise<void> {
  const missing = eventingMissing();
  if (missing) {
    console.log(`eventing: not measured: ${missing}`);
    return;
  }
  const result = await runEventing(DEFAULT_SIZES, (line) => console.log(`  ${line}`));
  printEventing(result);
  console.log(`\nresults: ${saveResults("eventing", result)}`);
}

const USAGE = `usage: node bench/eventing.ts [options]   (npm run bench -- eventing: the defaults)

Starts Kafka and sluice up (a subscriber Service at one pod, a Broker, a Trigger and a
KafkaSource to it; sluice up starts nats-server), then measures events/s direct, through the
Broker and through Kafka, and the memory with events queued behind a subscriber that does not
answer; then stops everything. Results go to bench/results/eventing-<time>.json.

options:
  --events N        events per path per round (default ${DEFAULT_SIZES.events})
  --rounds N        interleaved rounds; figures are the median round (default ${DEFAULT_SIZES.rounds})
  --warmup N        events per path before measuring (default ${DEFAULT_SIZES.warmup})
  --connections N   concurrent HTTP senders (default ${DEFAULT_SIZES.connections})
  --partitions N    the Kafka topic's partitions (default ${DEFAULT_SIZES.partitions})
  --queued N        events queued for the memory figure (default ${DEFAULT_SIZES.queued})
  -h, --help        this text`;

/** Sizes from the command line; throws naming the option that is wrong. */
export function parseSizes(args: string[]): EventingSizes | "help" {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: "string" },
      rounds: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      partitions: { type: "string" },
      queued: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const limits: Record<keyof EventingSizes, [number, number]> = {
    events: [1, 1_000_000],
    rounds: [1, 20],
    warmup: [0, 100_000],
    connections: [1, 1000],
    partitions: [1, 64],
    queued: [1, 1_000_000],
  };
  const sizes = { ...DEFAULT_SIZES };
  for (const [name, [low, high]] of Object.entries(limits) as [keyof EventingSizes, [number, number]][]) {
    const given = values[name];
    if (given === undefined) continue;
    const value = Number(given);
    if (!Number.isInteger(value) || value < low || value > high)
      throw new Error(`--${name} ${given}: expected a whole number from ${low} to ${high}`);
    sizes[name] = value;
  }
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const sizes = parseSizes(process.argv.slice(2));
    if (sizes === "help") console.log(USAGE);
    else {
      const result = await runEventing(sizes, (line) => console.log(`  ${line}`));
      printEventing(result);
      console.log(`\nresults: ${saveResults("eventing", result)}`);
    }
    process.exit(0);
  } catch (error) {
    console.error(`eventing bench: ${(error as Error).message}`);
    process.exit(1);
  }
}
