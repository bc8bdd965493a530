// Trace context through the Broker, with the real nats-server and eventing process: the
// producer's traceparent (binary mode's header, structured mode's extension attribute) reaches the
// subscriber in the producer's trace, a reply and a dead letter stay in it, x-request-id passes
// through, and a PingSource starts a trace per event. Tracing off, the context passes through
// untouched; on (exporting OTLP/JSON to a local collector), each hop is a span, the parent of the
// next. The whole path with the router and queue-proxy, read back from Jaeger, is
// test/observability/eventing-jaeger.test.ts.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import t, { type Test } from "tap";
import { parseTraceparent } from "../../common/traceparent.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { type ReceivedSpan, startCollector } from "../helpers/otlp-collector.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { type Received, startRecorder } from "./event-recorder.ts";

const skip = skipUnlessNats();
const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;

for (const mode of ["off", "on"] as const) {
  t.test(`trace context through Broker and Trigger, tracing ${mode}`, { skip }, async (t) => {
    const nats = await startNats(t);
    const recorder = await startRecorder(t);
    const collector = mode === "on" ? await startCollector(t) : undefined;
    const manifests = tempPath(t, "eventing.yaml", "sluice-eventing-tracing-");
    writeFileSync(
      manifests,
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: demo }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-sub, namespace: demo }
spec:
  broker: default
  filters: [{ exact: { type: test.trace } }]
  subscriber: { uri: "${recorder.url}/sub" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: replies, namespace: demo }
spec:
  broker: default
  filters: [{ exact: { type: test.reply } }]
  subscriber: { uri: "${recorder.url}/replies" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: failing, namespace: demo }
spec:
  broker: default
  filters: [{ exact: { type: test.dead } }]
  subscriber: { uri: "${recorder.url}/fail" }
  delivery:
    retry: 0
    deadLetterSink: { uri: "${recorder.url}/dead" }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: every-second, namespace: demo }
spec:
  schedule: "* * * * * *"
  data: "{}"
  sink: { uri: "${recorder.url}/ping" }
---
apiVersion: sources.sluice.dev/v1
kind: NatsSource
metadata: { name: traced, namespace: demo }
spec:
  subject: traced.in
  sink: { uri: "${recorder.url}/nats" }
`,
    );
    // The subscriber answers with a reply event (binary mode, no trace headers of its own).
    recorder.on("/sub", (event, res) => {
      res
        .writeHead(200, {
          "ce-specversion": "1.0",
          "ce-id": `reply-${event.id}`,
          "ce-source": "/subscriber",
          "ce-type": "test.reply",
        })
        .end();
    });
    recorder.on("/fail", (_event, res) => {
      res.writeHead(500).end();
    });
    const tracing: Record<string, string> = collector
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BSP_SCHEDULE_DELAY: "50",
        }
      : {};
    const eventing = await startEventing(t, { natsUrl: nats.url, files: manifests, env: tracing });
    const broker = `${eventing.url}/demo/default`;
    const post = async (headers: Record<string, string>, body = "") => {
      const res = await fetch(broker, { method: "POST", headers, body });
      return res.status;
    };
    const binary = (id: string, type: string, headers: Record<string, string>) =>
      post({ "ce-specversion": "1.0", "ce-id": id, "ce-source": "/producer", "ce-type": type, ...headers });
    const receivedAt = (path: string, id: string) =>
      waitFor(`event ${id} at ${path}`, () => recorder.at(path).find((e) => e.id === id), {
        timeoutMs: 20_000,
        everyMs: 50,
      });
    const contextOf = (event: Received) => parseTraceparent(String(event.headers.traceparent ?? ""));
    /** The spans of a trace once `ready` says all are in. */
    const spansOf = (traceId: string, ready: (spans: ReceivedSpan[]) => boolean) =>
      waitFor(
        `spans of trace ${traceId}`,
        () => {
          const spans = collector!.spans.filter((s) => s.traceId === traceId);
          return ready(spans) ? spans : undefined;
        },
        { timeoutMs: 20_000, everyMs: 50 },
      );

    /** Checks what the subscriber got against the producer's context; returns the hop's span id. */
    const checkHop = (t: Test, event: Received, traceId: string, parentId: string, what: string) => {
      const got = contextOf(event);
      t.equal(got?.traceId, traceId, `${what}: in the producer's trace`);
      t.equal(got?.flags, 1, `${what}: sampled`);
      if (mode === "off") t.equal(got?.spanId, parentId, `${what}: the producer's context, untouched`);
      else t.not(got?.spanId, parentId, `${what}: a span of eventing's as the parent`);
      t.notOk(event.headers["ce-sluicexrequestid"], `${what}: the pass-through attribute is not shown`);
      return got?.spanId;
    };

    await t.test(
      "binary mode: traceparent header in, to the subscriber and back with the reply",
      async (t) => {
        const traceId = hex(16);
        const parentId = hex(8);
        t.equal(
          await binary("b-1", "test.trace", {
            traceparent: `00-${traceId}-${parentId}-01`,
            tracestate: "vendor=1",
            "x-request-id": "req-b-1",
          }),
          202,
        );
        const delivered = await receivedAt("/sub", "b-1");
        const deliverySpanId = checkHop(t, delivered, traceId, parentId, "the subscriber");
        t.equal(delivered.headers.tracestate, "vendor=1", "tracestate goes with it");
        t.equal(delivered.headers["x-request-id"], "req-b-1", "x-request-id passed through");
        const reply = await receivedAt("/replies", "reply-b-1");
        t.equal(contextOf(reply)?.traceId, traceId, "the reply stays in the producer's trace");
        t.equal(reply.headers["x-request-id"], "req-b-1", "and keeps the x-request-id");
        if (mode === "off") {
          t.equal(
            reply.headers.traceparent,
            delivered.headers.traceparent,
            "the context passes on unchanged",
          );
          return;
        }
        // Tracing on: producer → ingress (SERVER) → delivery (CLIENT) → subscriber; the reply's
        // delivery is a child of the delivery it answers.
        const spans = await spansOf(traceId, (s) => s.filter((span) => span.kind === CLIENT).length >= 2);
        const ingress = spans.filter((s) => s.name === "eventing ingress");
        t.equal(ingress.length, 1, "one ingress span");
        t.equal(ingress[0].kind, SERVER);
        t.equal(ingress[0].parentSpanId, parentId, "the ingress span's parent is the producer's span");
        t.equal(ingress[0].attributes["sluice.broker"], "demo/default");
        t.equal(ingress[0].attributes["http.response.status_code"], 202);
        t.equal(ingress[0].resource["service.name"], "sluice-eventing");
        const delivery = spans.find((s) => s.attributes["sluice.trigger"] === "demo/to-sub");
        t.equal(delivery?.name, "eventing delivery");
        t.equal(delivery?.parentSpanId, ingress[0].spanId, "the delivery's parent is the ingress span");
        t.equal(delivery?.spanId, deliverySpanId, "the subscriber's parent is the delivery span");
        t.equal(delivery?.attributes["sluice.subscriber"], `${recorder.url}/sub`);
        t.equal(delivery?.attributes["http.response.status_code"], 200);
        t.equal(delivery?.attributes["cloudevents.event_id"], "b-1");
        const replyDelivery = spans.find((s) => s.attributes["sluice.trigger"] === "demo/replies");
        t.equal(
          replyDelivery?.parentSpanId,
          delivery?.spanId,
          "the reply's delivery is a child of the delivery",
        );
        t.equal(contextOf(reply)?.spanId, replyDelivery?.spanId);
      },
    );

    await t.test("structured mode: the traceparent extension attribute in the JSON", async (t) => {
      const traceId = hex(16);
      const parentId = hex(8);
      const status = await post(
        { "content-type": "application/cloudevents+json" },
        JSON.stringify({
          specversion: "1.0",
          id: "s-1",
          source: "/producer",
          type: "test.trace",
          traceparent: `00-${traceId}-${parentId}-01`,
          data: { n: 1 },
        }),
      );
      t.equal(status, 202);
      checkHop(t, await receivedAt("/sub", "s-1"), traceId, parentId, "the subscriber");
      t.equal(contextOf(await receivedAt("/replies", "reply-s-1"))?.traceId, traceId, "the reply too");
      if (mode === "on") {
        const spans = await spansOf(traceId, (s) => s.some((span) => span.name === "eventing ingress"));
        t.equal(spans.find((s) => s.name === "eventing ingress")?.parentSpanId, parentId);
      }
    });

    await t.test("a dead letter stays in the trace", async (t) => {
      const traceId = hex(16);
      const parentId = hex(8);
      t.equal(await binary("d-1", "test.dead", { traceparent: `00-${traceId}-${parentId}-01` }), 202);
      const failed = await receivedAt("/fail", "d-1");
      const dead = await receivedAt("/dead", "d-1");
      checkHop(t, dead, traceId, parentId, "the dead-letter sink");
      if (mode === "on") {
        const spans = await spansOf(traceId, (s) => s.filter((span) => span.kind === CLIENT).length >= 2);
        const attempt = spans.find((s) => s.name === "eventing delivery");
        t.equal(attempt?.attributes["http.response.status_code"], 500);
        t.equal(attempt?.statusCode, 2, "a failed attempt is an error span");
        t.equal(attempt?.spanId, contextOf(failed)?.spanId);
        const letter = spans.find((s) => s.name === "eventing dead-letter");
        t.equal(letter?.spanId, contextOf(dead)?.spanId, "the dead letter's own span");
        t.equal(letter?.attributes["sluice.trigger"], "demo/failing");
      }
    });

    await t.test("an unsampled context (flags 00) passes through and records nothing", async (t) => {
      const traceId = hex(16);
      const traceparent = `00-${traceId}-${hex(8)}-00`;
      t.equal(await binary("u-1", "test.trace", { traceparent }), 202);
      t.equal(
        (await receivedAt("/sub", "u-1")).headers.traceparent,
        traceparent,
        "the subscriber got it as sent",
      );
      t.equal(
        (await receivedAt("/replies", "reply-u-1")).headers.traceparent,
        traceparent,
        "and so did the reply",
      );
      if (collector) {
        // Spans of later events arrive after those of earlier ones would have: a traced event
        // sent now, once its spans are in, shows nothing of the unsampled one is coming.
        const later = hex(16);
        t.equal(await binary("u-2", "test.trace", { traceparent: `00-${later}-${hex(8)}-01` }), 202);
        await spansOf(later, (s) => s.filter((span) => span.kind === CLIENT).length >= 2);
        t.same(
          collector.spans.filter((s) => s.traceId === traceId),
          [],
          "no span of the unsampled trace",
        );
      }
    });

    await t.test("a NatsSource message's traceparent header is the event's context", async (t) => {
      const nc = await connect({ servers: nats.url });
      t.teardown(() => nc.close());
      const traceId = hex(16);
      const parentId = hex(8);
      const h = natsHeaders();
      h.set("traceparent", `00-${traceId}-${parentId}-01`);
      nc.publish("traced.in", "{}", { headers: h });
      await nc.flush();
      const got = await waitFor("the NATS message at its sink", () => recorder.at("/nats")[0], {
        timeoutMs: 20_000,
        everyMs: 50,
      });
      const context = contextOf(got);
      t.equal(context?.traceId, traceId, "in the publisher's trace");
      if (mode === "off") t.equal(context?.spanId, parentId, "the publisher's context, untouched");
      else {
        const spans = await spansOf(traceId, (s) => s.some((span) => span.kind === CLIENT));
        const source = spans.find((s) => s.name === "eventing source");
        t.equal(source?.parentSpanId, parentId, "the source span's parent is the publisher's span");
        t.equal(source?.attributes["sluice.source"], "NatsSource demo/traced");
        t.equal(
          spans.find((s) => s.kind === CLIENT)?.spanId,
          context?.spanId,
          "the sink's parent: the attempt",
        );
      }
    });

    await t.test("a PingSource starts a trace per event when tracing is on", async (t) => {
      const ping = await waitFor("a ping", () => recorder.at("/ping")[0], { timeoutMs: 20_000, everyMs: 50 });
      const context = contextOf(ping);
      if (mode === "off") {
        t.equal(ping.headers.traceparent, undefined, "tracing off: no trace is started");
        return;
      }
      t.ok(context, "the sink got a traceparent");
      t.equal(context?.flags, 1, "sampled (parentbased_always_on: every root)");
      const spans = await spansOf(context!.traceId, (s) => s.length >= 2);
      const source = spans.find((s) => s.name === "eventing source");
      t.equal(source?.kind, PRODUCER);
      t.equal(source?.parentSpanId, undefined, "a new trace");
      t.equal(source?.attributes["sluice.source"], "PingSource demo/every-second");
      t.equal(source?.attributes["sluice.outcome"], "delivered");
      const attempt = spans.find((s) => s.kind === CLIENT);
      t.equal(attempt?.parentSpanId, source?.spanId, "the attempt is the source span's child");
      t.equal(attempt?.spanId, context?.spanId, "and the sink's parent");
    });
  });
}
