import { randomUUID } from "node:crypto";
import { connect, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "../../common/log.ts";
import type { StoredEvent } from "../cloudevent/event.ts";
import { decodeHeaderValue } from "../cloudevent/header-value.ts";
import { DEFAULT_DELIVERY, deliveryPolicy, type ResolveOptions } from "../resources/compile.ts";
import type { NatsSourceRuntime } from "../resources/compile-sources.ts";
import { withRecordTrace } from "../tracing.ts";
import { deliverToSink, type SinkOptions } from "./sink.ts";

// A NatsSource (sources.sluice.dev/v1): a core NATS subscription on a subject (wildcards
// allowed), in a queue group when one is set so that several eventing processes share the
// messages, each message sent to the sink as a CloudEvent:
//   - a message that is a CloudEvent in binary mode (ce- headers, as the Broker store writes
//     them and as `nats pub -H ce-specversion:1.0 …` sends) goes on as that event;
//   - any other is wrapped: type dev.sluice.nats.message,
//     source /apis/v1/namespaces/{ns}/natssources/{name}#{subscribed subject},
//     subject the message's own subject, id a fresh UUID, data the payload, datacontenttype
//     from a Content-Type header.
// Core NATS keeps nothing: a message that arrives while no one subscribes is gone, and one in
// flight when the process dies is lost (at most once). Retries per the source's delivery spec
// (Knative's broker default when none). A request (a message with a reply subject) is answered,
// empty, once the sink took the event, so a publisher can wait for delivery.

export const NATS_EVENT_TYPE = "dev.sluice.nats.message";

export interface NatsMessageIn {
  subject: string;
  headers: Iterable<[string, string]> | undefined;
  data: Uint8Array;
}

export function eventOfNatsMessage(
  source: NatsSourceRuntime,
  message: NatsMessageIn,
  id: string = randomUUID(),
): StoredEvent {
  const headers = [...(message.headers ?? [])].map(([k, v]) => [k.toLowerCase(), v] as const);
  const data = message.data.length > 0 ? message.data : undefined;
  const contentType = headers.find(([k]) => k === "content-type")?.[1];
  if (headers.some(([k]) => k === "ce-specversion")) {
    const attributes: Record<string, string> = {};
    for (const [k, v] of headers) if (k.startsWith("ce-")) attributes[k.slice(3)] = decodeHeaderValue(v);
    if (contentType !== undefined) attributes.datacontenttype = decodeHeaderValue(contentType);
    if (attributes.id && attributes.source && attributes.type && attributes.specversion === "1.0")
      return { attributes, data };
  }
  const attributes: Record<string, string> = {
    specversion: "1.0",
    id,
    type: NATS_EVENT_TYPE,
    source: `/apis/v1/namespaces/${source.namespace}/natssources/${source.name}#${source.subject}`,
    subject: message.subject,
    time: new Date().toISOString(),
  };
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  return { attributes, data };
}

export class NatsSourceRunner {
  readonly #source: NatsSourceRuntime;
  readonly #options: {
    sink: SinkOptions;
    log: Logger;
    shared: NatsConnection;
    maxInFlight: number;
    resolve: ResolveOptions;
  };
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  #own: NatsConnection | undefined;
  #subscription: Subscription | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    source: NatsSourceRuntime,
    options: {
      sink: SinkOptions;
      log: Logger;
      shared: NatsConnection;
      maxInFlight: number;
      resolve: ResolveOptions;
    },
  ) {
    this.#source = source;
    this.#options = options;
    this.#log = options.log.child({ source: `NatsSource ${source.namespace}/${source.name}` });
  }

  /** Resolves once subscribed: messages published after it are delivered. */
  async start(): Promise<void> {
    const { servers, subject, queueGroup } = this.#source;
    let nc = this.#options.shared;
    if (servers !== undefined) {
      this.#own = await connect({
        servers,
        name: `sluice-natssource-${this.#source.namespace}-${this.#source.name}`,
        maxReconnectAttempts: -1,
      });
      nc = this.#own;
    }
    this.#subscription = nc.subscribe(subject, { queue: queueGroup });
    await nc.flush(); // the server has the subscription
    this.#loop = this.#run(this.#subscription);
    this.#log.info({ subject, queueGroup }, "subscribed");
  }

  async stop(): Promise<void> {
    this.#subscription?.unsubscribe();
    await this.#loop;
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
    await this.#own?.drain().catch(() => {});
  }

  async #run(subscription: Subscription): Promise<void> {
    const policy =
      this.#source.delivery ??
      deliveryPolicy(DEFAULT_DELIVERY, this.#source.namespace, this.#options.resolve);
    for await (const msg of subscription) {
      const work = this.#deliver(msg, policy);
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
      if (this.#inFlight.size >= this.#options.maxInFlight) await Promise.race(this.#inFlight);
    }
  }

  async #deliver(msg: Msg, policy: Parameters<typeof deliverToSink>[2]): Promise<void> {
    const headers = msg.headers
      ? [...msg.headers.keys()].map((k) => [k, msg.headers?.get(k) ?? ""] as [string, string])
      : undefined;
    // A `traceparent` message header is the event's trace context (tracing.ts).
    const event = withRecordTrace(
      eventOfNatsMessage(this.#source, { subject: msg.subject, headers, data: msg.data }),
      headers ?? [],
    );
    const outcome = await deliverToSink(this.#source, event, policy, this.#options.sink, this.#abort.signal);
    if (outcome === "delivered" && msg.reply) msg.respond();
  }
}
