// Which trace context an event carries (eventing/tracing.ts, tracing off: the context passes
// through): the transport's traceparent wins over the event's own extension, a malformed one is
// ignored, a Kafka record's traceparent header becomes the event's, pass-through headers ride as
// attributes and go back out as headers, and a reply takes the context its delivery sent.
import t from "tap";
import type { StoredEvent } from "../../eventing/cloudevent/event.ts";
import { eventOfRecord } from "../../eventing/sources/kafka-record.ts";
import { replyInTrace, traceDelivery, traceIngress } from "../../eventing/tracing.ts";

const A = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const B = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

const event = (attributes: Record<string, string> = {}): StoredEvent => ({
  attributes: { specversion: "1.0", id: "1", source: "/s", type: "t", ...attributes },
  data: undefined,
});

t.test("the ingress stores the context the request came with", async (t) => {
  t.equal(traceIngress({ traceparent: A }, event(), "ns/b").event?.attributes.traceparent, A, "the header");
  t.equal(
    traceIngress({ traceparent: A, tracestate: "k=v" }, event({ traceparent: B, tracestate: "x=y" }), "ns/b")
      .event?.attributes.tracestate,
    "k=v",
    "the header's tracestate goes with the header's traceparent",
  );
  t.equal(
    traceIngress({ traceparent: A }, event({ traceparent: B }), "ns/b").event?.attributes.traceparent,
    A,
    "the header wins over the extension",
  );
  t.equal(
    traceIngress({ traceparent: "00-nothex-01" }, event({ traceparent: B }), "ns/b").event?.attributes
      .traceparent,
    B,
    "a malformed header: the extension",
  );
  const none = event();
  t.equal(traceIngress({}, none, "ns/b").event, none, "no context: the event as it came");
  t.equal(traceIngress({ traceparent: A }, undefined, "ns/b").event, undefined, "no event (a 400)");
});

t.test("x-request-id rides with the event and goes out as the header it was", async (t) => {
  const stored = traceIngress({ "x-request-id": "r-1", traceparent: A }, event(), "ns/b").event!;
  t.equal(stored.attributes.sluicexrequestid, "r-1");
  const headers: Record<string, string> = { "ce-sluicexrequestid": "r-1", "ce-id": "1" };
  traceDelivery(stored, headers, "http://x/", undefined).end(200);
  t.same(headers, { "ce-id": "1", "x-request-id": "r-1", traceparent: A }, "not shown as an attribute");
  const reply = replyInTrace(event({ id: "r" }), headers);
  t.equal(reply.attributes.traceparent, A, "a reply takes the delivery's context");
  t.equal(reply.attributes.sluicexrequestid, "r-1", "and the pass-through values");
  const own = replyInTrace(event({ traceparent: B, tracestate: "x=y" }), { traceparent: A });
  t.equal(own.attributes.traceparent, A, "over any context of its own");
  t.equal(own.attributes.tracestate, undefined, "and no tracestate the delivery did not send");
});

t.test("a delivery without a context sends none", async (t) => {
  const headers: Record<string, string> = {};
  traceDelivery(event(), headers, "http://x/", undefined).end(undefined, "refused");
  t.same(headers, {});
});

t.test("a Kafka record's traceparent header is the event's context", async (t) => {
  const record = (headers: [string, string][]) => ({
    topic: "t",
    partition: 0,
    offset: 1n,
    timestamp: 0n,
    key: null,
    value: Buffer.from("{}"),
    headers,
  });
  const source = { namespace: "ns", name: "k", keyType: "string" as const };
  t.equal(eventOfRecord(record([["traceparent", A]]), source).attributes.traceparent, A, "a plain record");
  t.equal(
    eventOfRecord(
      record([
        ["ce_specversion", "1.0"],
        ["ce_id", "1"],
        ["ce_source", "/s"],
        ["ce_type", "t"],
        ["ce_traceparent", B],
        ["traceparent", A],
        ["tracestate", "k=v"],
      ]),
      source,
    ).attributes.traceparent,
    A,
    "a CloudEvent record: the header wins over its extension",
  );
  t.equal(
    eventOfRecord(record([["traceparent", "junk"]]), source).attributes.traceparent,
    undefined,
    "a malformed header is not a context",
  );
});
