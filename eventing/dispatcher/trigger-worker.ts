import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Dispatcher } from "undici";
import type { Logger } from "../../common/log.ts";
import { describeEvent, type StoredEvent } from "../cloudevent/event.ts";
import type { EventingMetrics } from "../metrics.ts";
import type { TriggerRuntime } from "../resources/compile.ts";
import { type BrokerStore, eventOfMessage } from "../store/broker-store.ts";
import { afterFailure } from "./backoff.ts";
import { type DeliveryFailure, deadLetterEvent } from "./dead-letter.ts";
import { forDelivery, withReplyTtl } from "./reply-ttl.ts";
import { type SendResult, sendEvent } from "./send-event.ts";

// One Trigger's dispatch loop: pull from its durable consumer, filter, deliver, and only then
// acknowledge. A failed attempt is handed back to JetStream with the back-off as the redelivery
// delay, so the attempt count (JetStream's delivery count) and the schedule survive a restart of
// this process; an event whose attempts are spent goes to the dead-letter sink. Until it is
// acknowledged an event stays in the stream: a dispatcher killed mid-delivery loses nothing,
// the restarted one gets it again (at-least-once: a subscriber may see an event twice).

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

export class TriggerWorker {
  readonly #trigger: TriggerRuntime;
  readonly #options: WorkerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #messages: ConsumerMessages | undefined;
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
    this.#messages = await consumer.consume({ max_messages: this.#options.maxInFlight });
    this.#loop = this.#run(this.#messages);
  }

  /** Stops pulling and waits for the deliveries in progress (they are acknowledged or handed back). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#messages?.close();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.#stopping) {
        msg.nak(); // pulled but not started: straight back for whoever consumes next
        continue;
      }
      const work = this.#handle(msg).catch((error: Error) => {
        this.#options.log.error(
          { trigger: this.name, err: error.message },
          "delivery failed unexpectedly; redelivering",
        );
        msg.nak(1000);
      });
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
      if (this.#inFlight.size >= this.#options.maxInFlight) await Promise.race(this.#inFlight);
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const trigger = this.#trigger;
    const { metrics, log } = this.#options;
    const event = eventOfMessage(msg);
    if (!trigger.matches(event.attributes)) {
      msg.ack();
      metrics.delivery(trigger.namespace, trigger.name, "filtered");
      return;
    }
    const attempt = msg.info.deliveryCount;
    const { delivery } = trigger;
    // Counted once per event (not per redelivery): what the status calls accepted.
    if (attempt === 1) metrics.delivery(trigger.namespace, trigger.name, "accepted");
    const heartbeat = setInterval(() => msg.working(), Math.max(this.#options.ackWaitMs / 3, 100));
    try {
      // Past the last retry (a dead-letter attempt that failed before): the subscriber had its turn.
      if (attempt <= delivery.retry + 1) {
        const result = await this.#send(trigger.subscriber, forDelivery(event));
        if (result.ok) {
          await this.#reply(event, result);
          msg.ack();
          metrics.delivery(trigger.namespace, trigger.name, "delivered");
          return;
        }
        const next = afterFailure(delivery, attempt);
        if (next !== "give-up") {
          msg.nak(next.retryInMs);
          metrics.delivery(trigger.namespace, trigger.name, "retried");
          log.debug(
            { trigger: this.name, attempt, retryInMs: next.retryInMs, ...logged(result) },
            "delivery failed; retrying",
          );
          return;
        }
        if (!delivery.deadLetterSink) {
          msg.ack();
          metrics.delivery(trigger.namespace, trigger.name, "dropped");
          log.warn(
            { trigger: this.name, attempts: attempt, ...describeEvent(event), ...logged(result) },
            "delivery failed; no dead-letter sink: event dropped",
          );
          return;
        }
        await this.#deadLetter(msg, event, { ...failureOf(result), destination: trigger.subscriber.url });
        return;
      }
      await this.#deadLetter(msg, event, {
        error: "dead-letter delivery retried",
        destination: trigger.subscriber.url,
      });
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #deadLetter(msg: JsMsg, event: StoredEvent, failure: DeliveryFailure): Promise<void> {
    const trigger = this.#trigger;
    const sink = trigger.delivery.deadLetterSink;
    if (!sink) return;
    const result = await this.#send(sink, deadLetterEvent(forDelivery(event), failure));
    if (result.ok) {
      msg.ack();
      this.#options.metrics.delivery(trigger.namespace, trigger.name, "dead_lettered");
      return;
    }
    // Not acknowledged: the event stays stored and the sink is tried again later.
    const wait = Math.max(trigger.delivery.backoffDelayMs, 1000);
    msg.nak(wait);
    this.#options.log.error(
      { trigger: this.name, sink: sink.describe, retryInMs: wait, ...logged(result) },
      "dead-letter sink failed; trying again",
    );
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
    if ("problem" in result.reply) {
      metrics.reply(trigger.namespace, trigger.name, "invalid");
      log.warn(
        { trigger: this.name, problem: result.reply.problem },
        "the subscriber's reply is not a valid CloudEvent; ignored",
      );
      return;
    }
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
    // Knative counts it: the subscriber's answer would be lost otherwise.
    await store.publish(trigger.namespace, trigger.broker, reply);
    metrics.reply(trigger.namespace, trigger.name, "published");
  }
}

function failureOf(result: SendResult): Omit<DeliveryFailure, "destination"> {
  if (result.ok) return {};
  return { status: result.status, error: result.error, body: result.body };
}

function logged(result: SendResult): { status?: number; error?: string } {
  return result.ok ? {} : { status: result.status, error: result.error };
}
