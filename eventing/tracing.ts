import type { IncomingHttpHeaders } from "node:http";
import { parseTraceparent } from "../common/traceparent.ts";
import type { HopSpan, Tracer } from "../common/tracing.ts";
import type { StoredEvent } from "./cloudevent/event.ts";

// Eventing's traces. An event carries its trace context with it, as the CloudEvents Distributed
// Tracing extension (attributes `traceparent`, `tracestate`) stored with the event, as Knative's
// brokers do: the Broker ingress stores the context its request came with (the `traceparent`
// header, else the event's own extension), each delivery attempt sends it on as the `traceparent`
// header, and a reply goes back to the Broker carrying the delivery's context. Sources start a
// trace per event. With tracing on and the trace sampled, each hop is one span: the ingress
// request (SERVER), each delivery attempt (CLIENT, its parent the stored context) and each source
// event (PRODUCER); the context stored or sent is then that span's. With tracing off, the context
// only passes through: a header read and, when one came, an attribute copied.
//
// The tracer is the process's (main.ts sets it once), so the dispatcher and the sources need no
// new parameter to reach it.

let tracer: Pick<Tracer, "enabled" | "startSpan"> = { enabled: false, startSpan: () => undefined };

/** Called once by main.ts with the component's tracer (createTracer("eventing")). */
export function useTracer(next: Pick<Tracer, "enabled" | "startSpan">): void {
  tracer = next;
}

/** Headers passed from a producer's request to the subscribers as they came (Knative passes these). */
export const PASS_THROUGH_HEADERS = ["x-request-id"] as const;

type Attributes = Record<string, string | number>;

/** The OpenTelemetry CloudEvents semantic conventions' attributes of a span about an event. */
function eventAttributes(event: StoredEvent): Attributes {
  const { id, source, type } = event.attributes;
  const out: Attributes = {};
  if (id !== undefined) out["cloudevents.event_id"] = id;
  if (source !== undefined) out["cloudevents.event_source"] = source;
  if (type !== undefined) out["cloudevents.event_type"] = type;
  return out;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The event with its trace context set to `traceparent` (and `tracestate`, dropped when absent). */
export function withTraceContext(event: StoredEvent, traceparent: string, tracestate?: string): StoredEvent {
  if (event.attributes.traceparent === traceparent && event.attributes.tracestate === tracestate)
    return event;
  const attributes: Record<string, string> = { ...event.attributes, traceparent };
  if (tracestate === undefined) delete attributes.tracestate;
  else attributes.tracestate = tracestate;
  return { attributes, data: event.data };
}

/** The context a message came with: its transport's traceparent when valid, else the event's extension. */
function incomingContext(
  event: StoredEvent | undefined,
  traceparent: string | undefined,
  tracestate: string | undefined,
): { traceparent: string; tracestate?: string } | undefined {
  if (traceparent !== undefined && parseTraceparent(traceparent) !== undefined)
    return { traceparent, tracestate };
  const own = event?.attributes.traceparent;
  if (own !== undefined && parseTraceparent(own) !== undefined)
    return { traceparent: own, tracestate: event?.attributes.tracestate };
  return undefined;
}

export interface IngressTrace {
  /** The event to store: its trace context is the ingress span's, or the one it came with. */
  readonly event: StoredEvent | undefined;
  /** Ends the ingress span with the answer's status (no-op when nothing is recorded). */
  end(status: number, error?: string): void;
}

/**
 * The Broker ingress's side: what context to store with `event` (undefined when the request was
 * not a valid event) and the request's span when sampled.
 */
export function traceIngress(
  headers: IncomingHttpHeaders,
  event: StoredEvent | undefined,
  broker: string,
): IngressTrace {
  let context = incomingContext(event, headerOf(headers, "traceparent"), headerOf(headers, "tracestate"));
  let span: HopSpan | undefined;
  if (tracer.enabled) {
    span = tracer.startSpan(context?.traceparent, "eventing ingress", "server", {
      "sluice.broker": broker,
      ...(event && eventAttributes(event)),
    });
    if (span !== undefined) context = { traceparent: span.traceparent, tracestate: context?.tracestate };
  }
  let stored = event;
  if (stored !== undefined && context !== undefined)
    stored = withTraceContext(stored, context.traceparent, context.tracestate);
  if (stored !== undefined) stored = withPassThrough(stored, headers);
  return {
    event: stored,
    end: (status, error) =>
      span?.end(
        { "http.response.status_code": status },
        status >= 500 ? (error ?? String(status)) : undefined,
      ),
  };
}

/**
 * Pass-through headers ride with the stored event as an extension attribute each (the store keeps
 * attributes only); a delivery sends them on as the headers they were, never as attributes.
 */
const PASS_THROUGH_ATTRIBUTE: Record<(typeof PASS_THROUGH_HEADERS)[number], string> = {
  "x-request-id": "sluicexrequestid",
};

function withPassThrough(event: StoredEvent, headers: IncomingHttpHeaders): StoredEvent {
  let attributes: Record<string, string> | undefined;
  for (const name of PASS_THROUGH_HEADERS) {
    const value = headerOf(headers, name);
    if (value === undefined || value === "") continue;
    attributes ??= { ...event.attributes };
    attributes[PASS_THROUGH_ATTRIBUTE[name]] = value;
  }
  return attributes === undefined ? event : { attributes, data: event.data };
}

export interface DeliveryTrace {
  /** Ends the attempt's span: the subscriber's status, or why there was none. */
  end(status: number | undefined, error?: string): void;
}

const NO_DELIVERY_TRACE: DeliveryTrace = { end() {} };

/**
 * One delivery attempt's side: sets `headers` (the outgoing request's, from binaryHeaders) to
 * carry the event's context (a child span's when sampled) and the pass-through headers, and
 * takes the internal attributes out of them. `attributes` name the attempt (trigger or source).
 */
export function traceDelivery(
  event: StoredEvent,
  headers: Record<string, string>,
  url: string,
  attributes: Attributes | undefined,
): DeliveryTrace {
  for (const name of PASS_THROUGH_HEADERS) {
    const attribute = PASS_THROUGH_ATTRIBUTE[name];
    const value = event.attributes[attribute];
    if (value === undefined) continue;
    delete headers[`ce-${attribute}`];
    headers[name] = value;
  }
  const stored = event.attributes.traceparent;
  if (stored === undefined && !tracer.enabled) return NO_DELIVERY_TRACE;
  let span: HopSpan | undefined;
  if (tracer.enabled) {
    const deadLetter = event.attributes.knativeerrordest !== undefined;
    span = tracer.startSpan(stored, deadLetter ? "eventing dead-letter" : "eventing delivery", "client", {
      ...attributes,
      "sluice.subscriber": url,
      "sluice.dead_letter": deadLetter ? "true" : "false",
      ...eventAttributes(event),
    });
  }
  const traceparent = span?.traceparent ?? stored;
  if (traceparent === undefined) return NO_DELIVERY_TRACE;
  headers.traceparent = traceparent;
  const tracestate = event.attributes.tracestate;
  if (tracestate !== undefined) headers.tracestate = tracestate;
  if (span === undefined) return NO_DELIVERY_TRACE;
  return {
    end: (status, error) => {
      const ended: Attributes = status === undefined ? {} : { "http.response.status_code": status };
      const failed =
        error ?? (status !== undefined && (status < 200 || status > 299) ? String(status) : undefined);
      span.end(ended, failed);
    },
  };
}

/**
 * A reply goes back to the Broker in the trace of the delivery it answers (the `traceparent` the
 * attempt sent), as Knative's dispatcher sends it; pass-through values go with it.
 */
export function replyInTrace(reply: StoredEvent, sent: Readonly<Record<string, string>>): StoredEvent {
  let out = reply;
  if (sent.traceparent !== undefined) out = withTraceContext(out, sent.traceparent, sent.tracestate);
  for (const name of PASS_THROUGH_HEADERS) {
    const value = sent[name];
    if (value !== undefined && out.attributes[PASS_THROUGH_ATTRIBUTE[name]] === undefined)
      out = { attributes: { ...out.attributes, [PASS_THROUGH_ATTRIBUTE[name]]: value }, data: out.data };
  }
  return out;
}

export interface SourceTrace {
  /** The event to send: its context is the source's span. */
  readonly event: StoredEvent;
  /** Ends the source's span with how the event ended. */
  end(outcome: string): void;
}

/**
 * A source's side: a PRODUCER span per event (a new trace, or a child of the context the event
 * came with, e.g. a Kafka record's traceparent header), so the sink gets a traceparent.
 * Undefined when tracing is off or the trace not sampled.
 */
export function traceSource(
  source: { kind: string; namespace: string; name: string },
  event: StoredEvent,
): SourceTrace | undefined {
  if (!tracer.enabled) return undefined;
  const span = tracer.startSpan(event.attributes.traceparent, "eventing source", "producer", {
    "sluice.source": `${source.kind} ${source.namespace}/${source.name}`,
    ...eventAttributes(event),
  });
  if (span === undefined) return undefined;
  return {
    event: withTraceContext(event, span.traceparent, event.attributes.tracestate),
    end: (outcome) =>
      span.end(
        { "sluice.outcome": outcome },
        outcome === "dropped" ? "delivery failed; event dropped" : undefined,
      ),
  };
}

/**
 * A Kafka record's or NATS message's transport context (`traceparent`/`tracestate` headers) wins
 * over the event's own.
 */
export function withRecordTrace(event: StoredEvent, headers: readonly [string, string][]): StoredEvent {
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "traceparent") traceparent = value;
    else if (lower === "tracestate") tracestate = value;
  }
  if (traceparent === undefined || parseTraceparent(traceparent) === undefined) return event;
  return withTraceContext(event, traceparent, tracestate);
}
