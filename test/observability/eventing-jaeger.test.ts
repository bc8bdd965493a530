// An event's trace through `sluice up`, read back from a real Jaeger v2 (scripts/tools/build.sh
// jaeger), as test/observability/jaeger.test.ts does for requests: a producer posts an event with
// a sampled traceparent to a Broker, a Trigger delivers it to a Service, and Jaeger holds one
// trace with every hop in order: eventing's ingress span (its parent the producer's span), the
// delivery span, then the router's and queue-proxy's spans of the subscriber's request.
import { randomBytes } from "node:crypto";
import t from "tap";
import { appService } from "../helpers/autoscaler.ts";
import { attribute, type JaegerSpan, skipUnlessJaeger, startJaegerForTest } from "../helpers/jaeger.ts";
import { skipUnlessNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { sluiceUp } from "./sluice-up.ts";

const skip = skipUnlessJaeger() || skipUnlessNats();
const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const lower = (id: string | undefined) => id?.toLowerCase();
const isKind = (span: JaegerSpan | undefined, kind: number, name: string) =>
  span !== undefined && (span.kind === kind || String(span.kind) === `SPAN_KIND_${name}`);

// Its test allows 300 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(330_000);
t.test("an event's trace through sluice up, read back from Jaeger", { skip, timeout: 300_000 }, async (t) => {
  const jaeger = await startJaegerForTest(t);
  const eventing = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-app }
spec:
  broker: default
  filters: [{ exact: { type: traced.event } }]
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: subscriber }
    uri: /headers
`;
  const up = await sluiceUp(
    t,
    [appService("subscriber"), eventing],
    { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl, OTEL_BSP_SCHEDULE_DELAY: "100" },
    ["--eventing-port", "0"],
  );
  const brokerBase = up.url("broker");
  t.ok(brokerBase, "the banner gives the Broker's address");
  const broker = `${brokerBase}/default/default`;

  for (let i = 0; i < 2; i++) {
    const traceId = hex(16);
    const parentId = hex(8);
    const res = await fetch(broker, {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": `e-${i}`,
        "ce-source": "/producer",
        "ce-type": "traced.event",
        traceparent: `00-${traceId}-${parentId}-01`,
      },
      body: "",
    });
    t.equal(res.status, 202, `event ${i}: stored`);
    const spans = await waitFor(
      `event ${i}: the spans of eventing, the router and the queue-proxy in Jaeger`,
      async () => {
        const got = await jaeger.trace(traceId);
        const names = new Set(got.map((s) => `${s.service} ${s.name}`));
        const all = ["sluice-eventing eventing ingress", "sluice-eventing eventing delivery"].every((n) =>
          names.has(n),
        );
        const services = new Set(got.map((s) => s.service));
        return all && services.has("sluice-router") && services.has("sluice-queue-proxy") ? got : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    const ingress = spans.filter((s) => s.name === "eventing ingress");
    t.equal(ingress.length, 1, `event ${i}: one ingress span`);
    t.ok(isKind(ingress[0], 2, "SERVER"), "a SERVER span");
    t.equal(ingress[0]?.service, "sluice-eventing");
    t.equal(lower(ingress[0]?.parentSpanId), parentId, "the ingress's parent is the producer's span");
    t.equal(attribute(ingress[0], "sluice.broker"), "default/default");
    const deliveries = spans.filter((s) => s.name === "eventing delivery");
    t.equal(deliveries.length, 1, `event ${i}: one delivery attempt, one span`);
    const [delivery] = deliveries;
    t.ok(isKind(delivery, 3, "CLIENT"), "a CLIENT span");
    t.equal(lower(delivery?.parentSpanId), lower(ingress[0]?.spanId), "ingress → delivery");
    t.equal(attribute(delivery, "sluice.trigger"), "default/to-app");
    t.equal(attribute(delivery, "http.response.status_code"), "200");
    t.equal(attribute(delivery, "cloudevents.event_id"), `e-${i}`);
    const router = spans.find((s) => s.service === "sluice-router" && isKind(s, 2, "SERVER"));
    t.equal(lower(router?.parentSpanId), lower(delivery?.spanId), "delivery → router");
    t.equal(router && attribute(router, "sluice.revision"), "subscriber-00001");
    const queueProxy = spans.find((s) => s.service === "sluice-queue-proxy" && isKind(s, 2, "SERVER"));
    const activator = spans.find((s) => s.service === "sluice-activator" && isKind(s, 2, "SERVER"));
    // At zero the activator holds the request on the way; then it is the queue-proxy's parent.
    t.equal(
      lower(queueProxy?.parentSpanId),
      lower((activator ?? router)?.spanId),
      `event ${i}: ${activator ? "router → activator → queue-proxy" : "router → queue-proxy"}`,
    );
    if (activator) t.equal(lower(activator.parentSpanId), lower(router?.spanId));
    t.ok(
      spans.every((s) => lower(s.traceId) === traceId),
      `event ${i}: every span in the producer's trace`,
    );
  }
});
