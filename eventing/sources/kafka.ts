import { setTimeout as sleep } from "node:timers/promises";
import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import type { Logger } from "../../common/log.ts";
import type { KafkaSourceRuntime } from "../resources/compile-sources.ts";
import { eventOfRecord } from "./kafka-record.ts";
import { deliverToSink, type SinkOptions } from "./sink.ts";
import { errorReason, SourceHealth } from "./source-health.ts";

// A KafkaSource: a consumer group member (@platformatic/kafka; docs/eventing.md says why that
// client) that sends each record to the sink as a CloudEvent (kafka-record.ts) and commits a
// record's offset only after the sink answered 2xx. As Knative's "ordered" delivery: records of
// one partition go one at a time, in order, while partitions proceed side by side.
//
// Commits: each partition's last delivered offset is committed every COMMIT_INTERVAL_MS and when
// the source stops, not after every record (one OffsetCommit per record would cost a broker round
// trip each). A process killed between a delivery and its commit sends those records again on
// restart: delivery is at least once, the duplicates bounded by what one interval delivers.
// A record whose delivery is still failing is retried (sink.ts) and holds its partition: nothing
// after it is committed, so nothing is lost however long the sink is down.

type Record = Message<Buffer, Buffer, Buffer, Buffer>;

export interface KafkaSourceOptions {
  sink: SinkOptions;
  log: Logger;
  /** Records held in memory at once (across partitions) before the fetch stream pauses. */
  maxHeld: number;
  /** Called when the source starts or stops failing (Kubernetes writes its Ready condition). */
  onHealthChange?: () => void;
}

export const COMMIT_INTERVAL_MS = 500;
const RESTART_DELAY_MS = 2000;
const SESSION_TIMEOUT_MS = 10_000;
const REBALANCE_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3000;
const STOP_WAIT_MS = 5000;

export class KafkaSourceRunner {
  readonly #source: KafkaSourceRuntime;
  readonly #options: KafkaSourceOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  /** Per "topic/partition": the chain of deliveries, and the last delivered record not yet committed. */
  #chains = new Map<string, Promise<void>>();
  #toCommit = new Map<string, Record>();
  #held = 0;
  #committing: Promise<void> = Promise.resolve();
  /** Running once consuming; failing, with the client's error, while it cannot. */
  readonly health: SourceHealth;

  constructor(source: KafkaSourceRuntime, options: KafkaSourceOptions) {
    this.#source = source;
    this.#options = options;
    this.health = new SourceHealth(options.onHealthChange);
    this.#log = options.log.child({ source: `KafkaSource ${source.namespace}/${source.name}` });
  }

  /** Joins the group in the background; a broker that is away is retried until stop(). */
  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    const stream = this.#stream;
    if (stream) {
      // What was delivered is committed while the group membership still stands.
      await Promise.allSettled([...this.#chains.values()]);
      await this.#commit();
      await stream.close().catch(() => {});
    }
    // Not consuming yet (joining, or retrying an absent broker): closing the client ends that.
    else void this.#consumer?.close(true).catch(() => {});
    // A client stuck in its own retries is not waited for beyond this: nothing is delivered
    // or committed while it is, so there is nothing to lose.
    await Promise.race([this.#loop, sleep(STOP_WAIT_MS)]);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const consumer = new Consumer({
        groupId: this.#source.consumerGroup,
        clientId: `sluice-kafkasource-${this.#source.namespace}-${this.#source.name}`,
        bootstrapBrokers: this.#source.bootstrapServers,
        // A fresh broker has no group coordinator for a few seconds.
        retries: 10,
        retryDelay: 500,
        // The client's defaults (60 s session, 102 s rebalance) leave a killed member's partitions
        // unread for a minute: a replacement's join waits for the dead member's session to end.
        // Sarama's (Knative's client) 10 s session and 3 s heartbeats instead.
        sessionTimeout: SESSION_TIMEOUT_MS,
        rebalanceTimeout: REBALANCE_TIMEOUT_MS,
        heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      });
      this.#consumer = consumer;
      try {
        await this.#consume(consumer);
      } catch (error) {
        if (!signal.aborted) {
          this.#log.error({ err: (error as Error).message }, "Kafka consumer failed; restarting it");
          this.health.failing(this.#failure(error));
        }
      }
      // What was delivered is committed before the group is left (or before a restart reads
      // the committed offsets again).
      await Promise.allSettled([...this.#chains.values()]);
      await this.#commit();
      this.#chains.clear();
      this.#held = 0;
      await consumer.close(true).catch(() => {});
      if (!signal.aborted) await sleep(RESTART_DELAY_MS, undefined, { signal }).catch(() => {});
    }
  }

  async #consume(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    const stream = await consumer.consume({
      topics: this.#source.topics,
      // Where the group left off; a partition the group never committed starts at initialOffset.
      mode: "committed",
      fallbackMode: this.#source.initialOffset,
      autocommit: false,
    });
    this.#stream = stream;
    this.health.running();
    this.#log.info({ group: this.#source.consumerGroup, topics: this.#source.topics }, "consuming");
    const committer = setInterval(() => void this.#commit(), COMMIT_INTERVAL_MS);
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on("data", (record: Record) => this.#take(record, stream));
        stream.once("error", reject);
        stream.once("close", resolve);
        if (this.#abort.signal.aborted) void stream.close().catch(() => {});
      });
    } finally {
      clearInterval(committer);
      this.#stream = undefined;
    }
  }

  /** The status's reason: what failed, naming the topics and brokers (the client's message may not). */
  #failure(error: unknown): string {
    const { topics, bootstrapServers } = this.#source;
    return `consuming topics ${topics.join(", ")} from ${bootstrapServers.join(", ")} failed: ${errorReason(error)}`;
  }

  /** Queues a record behind the others of its partition. */
  #take(record: Record, stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): void {
    const key = `${record.topic}/${record.partition}`;
    if (++this.#held >= this.#options.maxHeld) stream.pause();
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      const delivered = await this.#deliver(record);
      this.#held--;
      if (delivered) this.#toCommit.set(key, record);
      // Not delivered and not stopping: an unexpected failure. The stream is closed, and the run
      // loop starts again from the last commit, this record included.
      else if (!this.#abort.signal.aborted && !stream.closed) void stream.close().catch(() => {});
      if (this.#held < this.#options.maxHeld / 2 && stream.isPaused()) stream.resume();
    });
    this.#chains.set(key, next);
  }

  /** True once the record is done with (delivered, dead-lettered or dropped by policy). */
  async #deliver(record: Record): Promise<boolean> {
    const signal = this.#abort.signal;
    // A partition whose earlier record failed unexpectedly is not carried past it.
    if (signal.aborted || this.#stream === undefined || this.#stream.closed) return false;
    try {
      const event = eventOfRecord(
        {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          timestamp: record.timestamp,
          key: record.key,
          value: record.value,
          headers: record.headerEntries,
        },
        this.#source,
      );
      const outcome = await deliverToSink(
        this.#source,
        event,
        this.#source.delivery,
        this.#options.sink,
        signal,
      );
      return outcome !== "aborted";
    } catch (error) {
      this.#log.error(
        { err: (error as Error).message, partition: record.partition, offset: String(record.offset) },
        "record not delivered; restarting from the last commit",
      );
      return false;
    }
  }

  /**
   * Commits each partition's last delivered offset (+1: the next to read), through the consumer
   * rather than the stream, so it works while the stream is closing too.
   */
  #commit(): Promise<void> {
    // One commit at a time: an older offset landing after a newer one would move the group back.
    this.#committing = this.#committing.then(() => this.#commitNow());
    return this.#committing;
  }

  async #commitNow(): Promise<void> {
    const records = [...this.#toCommit.values()];
    this.#toCommit.clear();
    const consumer = this.#consumer;
    if (!consumer || records.length === 0) return;
    await Promise.all(
      records.map(async (record) => {
        try {
          await consumer.commit({
            offsets: [
              {
                topic: record.topic,
                partition: record.partition,
                offset: record.offset + 1n,
                leaderEpoch: record.leaderEpoch,
              },
            ],
          });
        } catch (error) {
          // After a rebalance the partition may be someone else's: they start from the previous
          // commit and the records since are delivered again (at least once), never lost.
          this.#log.warn(
            { err: (error as Error).message, partition: record.partition, offset: String(record.offset) },
            "offset commit failed",
          );
        }
      }),
    );
  }
}
