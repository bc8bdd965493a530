import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos, headers as natsHeaders } from "@nats-io/transport-node";
import type { StoredEvent } from "../cloudevent/event.ts";
import { decodeHeaderValue, encodeHeaderValue } from "../cloudevent/header-value.ts";
import { consumerName, messageId, streamName, subjectOf, triggerOfConsumer } from "./names.ts";
import { StoreUnavailable } from "./refusal.ts";

// The Broker store on NATS JetStream: one stream per Broker, one durable consumer per Trigger.
// Events are stored in binary mode: attributes as `ce-` headers (percent-encoded as in HTTP),
// datacontenttype as Content-Type, data as the payload, so a stored event reads the same with
// the nats CLI as on the wire.
//
// Streams use interest retention: an event is kept until every Trigger's consumer acked it,
// and no longer (bounded by maxAgeMs). Consumers must therefore exist before the ingress takes
// events for their Broker; main.ts creates them first.

export interface StoreOptions {
  /** The longest an unacknowledged event is kept. */
  maxAgeMs: number;
  /** The largest event (data) the ingress accepts; the stream refuses bigger messages. */
  maxEventBytes: number;
  /** How long a delivery may go without a heartbeat before JetStream redelivers it. */
  ackWaitMs: number;
  /** Deliveries of one Trigger in flight at once (the worker holds to it; see BACKOFF_ROOM). */
  maxInFlight: number;
}

/**
 * Events of one Trigger that may wait in back-off on top of its deliveries in flight. JetStream
 * counts an event negatively acknowledged with a delay against the consumer's max_ack_pending
 * until it is redelivered: were that the worker's concurrency, a few failing events would stop
 * a Trigger taking anything new for their whole back-off. The worker bounds its deliveries
 * itself (it pulls only for free slots), so the window is only a bound on events in back-off.
 */
export const BACKOFF_ROOM = 10_000;

/** What a Trigger's failed attempts at one stored event came to, kept apart from the event. */
export interface FailureRecord {
  /** Failed attempts at the subscriber. */
  failures: number;
  /** The subscriber has had its turn: the event goes to the dead-letter sink. */
  giveUp: boolean;
  /** The last failure, for the dead letter. */
  status?: number;
  error?: string;
  /** The start of the last failure's response body, base64. */
  body?: string;
}

/**
 * Failed attempts are counted in a stream of their own (the way JetStream's KV stores values:
 * the last message per subject), one subject per Trigger and event: JetStream's delivery count
 * also counts a redelivery after a crash, an ack wait missed or a worker stopping, none of which
 * was the subscriber failing, and a negative ack carries no data.
 */
const FAILURES_STREAM = "sluice-delivery-failures";
const FAILURES_SUBJECT = "sluice.failures";

/** JetStream's own de-duplication window for Nats-Msg-Id (see names.ts). */
const DUPLICATE_WINDOW_MS = 120_000;
/** Room for the `ce-` headers on top of the data. */
export const HEADER_ROOM_BYTES = 64 * 1024;

export class BrokerStore {
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #options: StoreOptions;
  readonly #nc: NatsConnection;
  /**
   * Whether the connection to NATS is up. While it is down the client would buffer a publish and
   * send it on reconnect — after the producer was told 503 —, so publish() refuses at once instead.
   */
  #connected = true;
  #failuresStream: Promise<void> | undefined;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient, options: StoreOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = js;
    this.#options = options;
    void this.#watch();
  }

  static async open(nc: NatsConnection, options: StoreOptions): Promise<BrokerStore> {
    const jsm = await jetstreamManager(nc);
    return new BrokerStore(nc, jsm, jetstream(nc), options);
  }

  async #watch(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === "disconnect" || status.type === "close") this.#connected = false;
      else if (status.type === "reconnect") this.#connected = true;
    }
  }

  /** Creates the Broker's stream, or brings an existing one to the current settings. */
  async ensureBroker(namespace: string, broker: string): Promise<void> {
    await this.#ensureFailuresStream();
    const config = {
      name: streamName(namespace, broker),
      subjects: [subjectOf(namespace, broker)],
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      // JetStream refuses a window longer than the stream's max age.
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, this.#options.maxAgeMs)),
      max_age: nanos(this.#options.maxAgeMs),
      max_msg_size: this.#options.maxEventBytes + HEADER_ROOM_BYTES,
    };
    await this.#ensureStream(config);
  }

  /** The stream of failure records, made once (and again if JetStream lost it). */
  #ensureFailuresStream(): Promise<void> {
    this.#failuresStream ??= this.#ensureStream({
      name: FAILURES_STREAM,
      subjects: [`${FAILURES_SUBJECT}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 1,
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, this.#options.maxAgeMs)),
      max_age: nanos(this.#options.maxAgeMs),
    }).catch((error) => {
      this.#failuresStream = undefined;
      throw error;
    });
    return this.#failuresStream;
  }

  /** Runs `op` on the failures stream; a stream JetStream lost is made again and `op` retried once. */
  async #withFailuresStream<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      // A publish no stream answers is reported as "JetStream not enabled" (no responders).
      if (!isNotFound(error) && (error as Error).name !== "JetStreamNotEnabled") throw error;
      this.#failuresStream = undefined;
      await this.#ensureFailuresStream();
      return op();
    }
  }

  async #ensureStream(config: Partial<StreamConfig> & { name: string }): Promise<void> {
    try {
      await this.#jsm.streams.info(config.name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.#jsm.streams.add(config);
      return;
    }
    await this.#jsm.streams.update(config.name, config);
  }

  /**
   * Creates the Trigger's durable consumer (it sees events stored from now on), or updates the
   * settings of the one there: its position, and so every event not yet delivered, is kept.
   */
  async ensureTrigger(namespace: string, broker: string, trigger: string): Promise<void> {
    const stream = streamName(namespace, broker);
    const durable = consumerName(trigger);
    const settings = {
      ack_wait: nanos(this.#options.ackWaitMs),
      max_ack_pending: this.#options.maxInFlight + BACKOFF_ROOM,
      max_deliver: -1, // the dispatcher counts attempts against the Trigger's retry policy
    };
    try {
      await this.#jsm.consumers.info(stream, durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.#jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ...settings,
      });
      return;
    }
    await this.#jsm.consumers.update(stream, durable, settings);
  }

  /**
   * Deletes the consumers of Triggers that are gone, so interest retention stops keeping events
   * for them. Returns the names of the Triggers removed.
   */
  async pruneTriggers(namespace: string, broker: string, keep: ReadonlySet<string>): Promise<string[]> {
    const stream = streamName(namespace, broker);
    const removed: string[] = [];
    for await (const info of this.#jsm.consumers.list(stream)) {
      const trigger = triggerOfConsumer(info.name);
      if (trigger === undefined || keep.has(trigger)) continue;
      await this.#jsm.consumers.delete(stream, info.name);
      removed.push(trigger);
    }
    return removed;
  }

  /**
   * Stores an event; resolves once JetStream has it (the PubAck), rejects otherwise (refusal.ts
   * says why, for the producer's 503): at once with StoreUnavailable while NATS is disconnected.
   * `deduplicate` (the ingress's) sets JetStream's de-duplication id from source + id; a reply
   * gets none: a subscriber may answer with its event's source and id (Knative's appender does).
   */
  async publish(
    namespace: string,
    broker: string,
    event: StoredEvent,
    { deduplicate = true } = {},
  ): Promise<{ duplicate: boolean }> {
    if (!this.#connected || this.#nc.isClosed())
      throw new StoreUnavailable(this.#nc.getServer() || "its configured URL");
    const h = natsHeaders();
    for (const [name, value] of Object.entries(event.attributes)) {
      if (name === "datacontenttype") h.set("content-type", encodeHeaderValue(value));
      else h.set(`ce-${name}`, encodeHeaderValue(value));
    }
    const ack = await this.#js.publish(subjectOf(namespace, broker), event.data, {
      headers: h,
      msgID: deduplicate ? messageId(event.attributes.source ?? "", event.attributes.id ?? "") : undefined,
      expect: { streamName: streamName(namespace, broker) },
    });
    return { duplicate: ack.duplicate };
  }

  /** The Trigger's consumer, to pull from. */
  async consumer(namespace: string, broker: string, trigger: string) {
    return this.#js.consumers.get(streamName(namespace, broker), consumerName(trigger));
  }

  /** Whether the Broker's stream is there (repair.ts: a NATS that lost its store has none). */
  async streamExists(namespace: string, broker: string): Promise<boolean> {
    try {
      await this.#jsm.streams.info(streamName(namespace, broker));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Whether the Trigger's consumer is there. */
  async consumerExists(namespace: string, broker: string, trigger: string): Promise<boolean> {
    try {
      await this.#jsm.consumers.info(streamName(namespace, broker), consumerName(trigger));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The failed attempts of a Trigger at the event with stream sequence `seq`, if any. */
  async failures(
    namespace: string,
    broker: string,
    trigger: string,
    seq: number,
  ): Promise<FailureRecord | undefined> {
    const stored = await this.#withFailuresStream(() =>
      this.#jsm.streams.getMessage(FAILURES_STREAM, {
        last_by_subj: failuresSubject(namespace, broker, trigger, seq),
      }),
    );
    return stored ? (stored.json() as FailureRecord) : undefined;
  }

  async recordFailures(
    namespace: string,
    broker: string,
    trigger: string,
    seq: number,
    record: FailureRecord,
  ): Promise<void> {
    await this.#withFailuresStream(() =>
      this.#js.publish(failuresSubject(namespace, broker, trigger, seq), JSON.stringify(record)),
    );
  }

  /** Once the event is settled: its record is no longer needed (it would expire with max age). */
  async forgetFailures(namespace: string, broker: string, trigger: string, seq: number): Promise<void> {
    await this.#jsm.streams.purge(FAILURES_STREAM, {
      filter: failuresSubject(namespace, broker, trigger, seq),
    });
  }

  /** Messages stored in a Broker's stream and not yet acknowledged by every Trigger (for tests and status). */
  async storedCount(namespace: string, broker: string): Promise<number> {
    const info = await this.#jsm.streams.info(streamName(namespace, broker));
    return info.state.messages;
  }
}

function failuresSubject(namespace: string, broker: string, trigger: string, seq: number): string {
  return `${FAILURES_SUBJECT}.${namespace}.${broker}.${trigger}.${seq}`;
}

/** A stored message back as an event. */
export function eventOfMessage(msg: JsMsg): StoredEvent {
  const attributes: Record<string, string> = {};
  if (msg.headers) {
    for (const key of msg.headers.keys()) {
      const name = key.toLowerCase();
      const value = decodeHeaderValue(msg.headers.get(key));
      if (name === "content-type") attributes.datacontenttype = value;
      else if (name.startsWith("ce-")) attributes[name.slice(3)] = value;
    }
  }
  return { attributes, data: msg.data.length > 0 ? msg.data : undefined };
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; code?: number; api_error?: { code?: number }; message?: string };
  return (
    e?.name === "StreamNotFoundError" ||
    e?.name === "ConsumerNotFoundError" ||
    e?.api_error?.code === 404 ||
    /not found/i.test(e?.message ?? "")
  );
}
