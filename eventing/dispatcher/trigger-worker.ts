import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Dispatcher } from "undici";
import type { Logger } from "../../common/log.ts";
import { describeEvent, type StoredEvent } from "../cloudevent/event.ts";
import type { EventingMetrics } from "../metrics.ts";
import type { TriggerRuntime } from "../resources/compile.ts";
import { type BrokerStore, eventOfMessage, type FailureRecord } from "../store/broker-store.ts";
import { afterFailure } from "./backoff.ts";
import { deadLetterEvent } from "./dead-letter.ts";
import { forDelivery, withReplyTtl } from "./reply-ttl.ts";
import { type SendResult, sendEvent } from "./send-event.ts";

// One Trigger's dispatch loop: pull from its durable consumer, filter, deliver, and only then
// acknowledge. Until it is acknowledged an event stays in the stream: a dispatcher killed
// mid-delivery loses nothing, the restarted one gets it again (at-least-once: a subscriber may
// see an event twice).
//
// A failed attempt is handed back to JetStream with the back-off as the redelivery delay, so the
// schedule survives a restart of this process. The attempts counted against the Trigger's retry
// policy are the subscriber's failures only, kept by the store per event (FailureRecord):
// JetStream's delivery count also counts redeliveries after a crash or a stop, which would send
// an event to the dead-letter sink (or nowhere) without the subscriber ever having had it. Every
// message pulled is settled: acknowledged (delivered, dead-lettered, dropped or filtered) or
// handed back (a retry, a dead-letter sink that failed, stopping).
//
// The worker pulls only as many events as it has free delivery slots; events waiting in back-off
// take none (the consumer's window is far larger: broker-store.ts BACKOFF_ROOM), so a few
// failing events do not hold up the rest.

export interface WorkerOptions {
  store: BrokerStore;
  agent: Dispatcher;
  /** Attempt timeout when the Trigger's delivery spec has none. */
  defaultTimeoutMs: number;
  /** JetStream's ack wait: a delivery in progress says "working" well within it. */
  ackWaitMs: number;
  maxInFlight: number;
  maxEventBytes: number;
  metrics: EventingMetrics;
  log: Logger;
}

/** How long one pull waits for events before the next is made (stopping ends it at once). */
const PULL_EXPIRES_MS = 5_000;
/** The pause before pulling again after a pull failed (NATS away, consumer not found). */
const PULL_RETRY_MS = 1_000;

export class TriggerWorker {
  readonly #trigger: TriggerRuntime;
  readonly #options: WorkerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #batch: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;

  constructor(trigger: TriggerRuntime, options: WorkerOptions) {
    this.#trigger = trigger;
    this.#options = options;
  }

  get name(): string {
    return `${this.#trigger.namespace}/${this.#trigger.name}`;
  }

  async start(): Promise<void> {
    const { namespace, broker, name } = this.#trigger;
    const consumer = await this.#options.store.consumer(namespace, broker, name);
    this.#loop = this.#run(consumer);
  }

  /** Stops pulling and waits for the deliveries in progress (they are acknowledged or handed back). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#batch?.close();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #run(consumer: Consumer): Promise<void> {
    while (!this.#stopping) {
      const free = this.#options.maxInFlight - this.#inFlight.size;
      if (free <= 0) {
        await Promise.race(this.#inFlight);
        continue;
      }
      try {
        this.#batch = await consumer.fetch({ max_messages: free, expires: PULL_EXPIRES_MS });
        for await (const msg of this.#batch) {
          if (this.#stopping) {
            msg.nak(); // pulled but not started: straight back for whoever consumes next
            continue;
          }
          this.#start(msg);
        }
      } catch (error) {
        if (this.#stopping) break;
        this.#options.log.warn(
          { trigger: this.name, err: (error as Error).message },
          "pull failed; pulling again",
        );
        await sleep(PULL_RETRY_MS);
      }
    }
  }

  #start(msg: JsMsg): void {
    const work = this.#handle(msg).catch((error: Error) => {
      this.#options.log.error(
        { trigger: this.name, err: error.message },
        "delivery failed unexpectedly; redelivering",
      );
      msg.nak(1000);
    });
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #handle(msg: JsMsg): Promise<void> {
    const trigger = this.#trigger;
    const { metrics, log, store } = this.#options;
    const event = eventOfMessage(msg);
    if (!trigger.matches(event.attributes)) {
      msg.ack();
      metrics.delivery(trigger.namespace, trigger.name, "filtered");
      return;
    }
    const seq = msg.info.streamSequence;
    // Only a redelivered event can have failed before: the first delivery needs no look-up.
    const first = msg.info.deliveryCount === 1;
    const before = first
      ? undefined
      : await store.failures(trigger.namespace, trigger.broker, trigger.name, seq);
    const { delivery } = trigger;
    // Counted once per event (not per redelivery): what the status calls accepted.
    if (first) metrics.delivery(trigger.namespace, trigger.name, "accepted");
    const heartbeat = setInterval(() => msg.working(), Math.max(this.#options.ackWaitMs / 3, 100));
    try {
      // The subscriber had its turn; a dead-letter sink failed before.
      if (before?.giveUp) return await this.#giveUp(msg, event, before, before);
      const result = await this.#send(trigger.subscriber, forDelivery(event));
      if (result.ok) {
        await this.#reply(event, result);
        msg.ack();
        metrics.delivery(trigger.namespace, trigger.name, "delivered");
        if (before) this.#forget(seq);
        return;
      }
      const failures = (before?.failures ?? 0) + 1;
      const record = { failures, giveUp: false, ...failureOf(result) };
      const next = result.retryable ? afterFailure(delivery, failures) : "give-up";
      if (next === "give-up") return await this.#giveUp(msg, event, { ...record, giveUp: true }, before);
      await store.recordFailures(trigger.namespace, trigger.broker, trigger.name, seq, record);
      msg.nak(next.retryInMs);
      metrics.delivery(trigger.namespace, trigger.name, "retried");
      log.debug(
        { trigger: this.name, attempt: failures, retryInMs: next.retryInMs, ...logged(record) },
        "delivery failed; retrying",
      );
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** The subscriber's attempts are over: to the dead-letter sink, or dropped when there is none. */
  async #giveUp(
    msg: JsMsg,
    event: StoredEvent,
    record: FailureRecord,
    stored: FailureRecord | undefined,
  ): Promise<void> {
    const trigger = this.#trigger;
    const { metrics, log, store } = this.#options;
    const seq = msg.info.streamSequence;
    const sink = trigger.delivery.deadLetterSink;
    if (!sink) {
      msg.ack();
      metrics.delivery(trigger.namespace, trigger.name, "dropped");
      log.warn(
        { trigger: this.name, attempts: record.failures, ...describeEvent(event), ...logged(record) },
        "delivery failed; no dead-letter sink: event dropped",
      );
      if (stored) this.#forget(seq);
      return;
    }
    const letter = deadLetterEvent(forDelivery(event), {
      status: record.status,
      error: record.error,
      body: record.body === undefined ? undefined : Buffer.from(record.body, "base64"),
      destination: trigger.subscriber.url,
    });
    const result = await this.#send(sink, letter);
    if (result.ok) {
      msg.ack();
      metrics.delivery(trigger.namespace, trigger.name, "dead_lettered");
      if (stored) this.#forget(seq);
      return;
    }
    // Not acknowledged: the event stays stored and the sink is tried again later, straight away
    // (the record says the subscriber's turn is over).
    if (!stored?.giveUp)
      await store.recordFailures(trigger.namespace, trigger.broker, trigger.name, seq, record);
    const wait = Math.max(trigger.delivery.backoffDelayMs, 1000);
    msg.nak(wait);
    log.error(
      { trigger: this.name, sink: sink.describe, retryInMs: wait, ...logged(failureOf(result)) },
      "dead-letter sink failed; trying again",
    );
  }

  /** The event is settled: its failure record goes (it would expire with the stream's max age). */
  #forget(seq: number): void {
    const { namespace, broker, name } = this.#trigger;
    this.#options.store.forgetFailures(namespace, broker, name, seq).catch((error: Error) => {
      this.#options.log.debug({ trigger: this.name, seq, err: error.message }, "failure record not removed");
    });
  }

  #send(target: TriggerRuntime["subscriber"], event: StoredEvent): Promise<SendResult> {
    return sendEvent(target, event, {
      agent: this.#options.agent,
      timeoutMs: this.#trigger.delivery.timeoutMs ?? this.#options.defaultTimeoutMs,
      maxReplyBytes: this.#options.maxEventBytes,
      traceAttributes: { "sluice.trigger": this.name },
    });
  }

  /** A CloudEvent in the subscriber's reply goes back to the Trigger's Broker. */
  async #reply(original: StoredEvent, result: Extract<SendResult, { ok: true }>): Promise<void> {
    if (result.reply === undefined) return;
    const trigger = this.#trigger;
    const { metrics, log, store } = this.#options;
    const reply = withReplyTtl(original, result.reply.event);
    if (reply === "expired") {
      metrics.reply(trigger.namespace, trigger.name, "expired");
      log.warn(
        { trigger: this.name, ...describeEvent(result.reply.event) },
        "reply dropped: its knativebrokerttl is spent (an event loop?)",
      );
      return;
    }
    // A reply that cannot be stored fails the delivery (thrown: the event is redelivered), as
    // Knative counts it: the subscriber's answer would be lost otherwise. No de-duplication id:
    // a reply may keep its event's source and id.
    const { duplicate } = await store.publish(trigger.namespace, trigger.broker, reply, {
      deduplicate: false,
    });
    if (duplicate) {
      metrics.reply(trigger.namespace, trigger.name, "duplicate");
      log.warn(
        { trigger: this.name, ...describeEvent(reply) },
        "reply not stored: JetStream calls it a duplicate",
      );
      return;
    }
    metrics.reply(trigger.namespace, trigger.name, "published");
  }
}

function failureOf(result: SendResult): Omit<FailureRecord, "failures" | "giveUp"> {
  if (result.ok) return {};
  return {
    status: result.status,
    error: result.error,
    body: result.body && result.body.length > 0 ? Buffer.from(result.body).toString("base64") : undefined,
  };
}

function logged(failure: { status?: number; error?: string }): { status?: number; error?: string } {
  return { status: failure.status, error: failure.error };
}
