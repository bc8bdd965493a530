// One request through router → queue-proxy → app makes one trace: a span per hop, each the
// parent of the next, exported to a (local) OTLP collector; and a trace starts at the router.
import t from "tap";
import { Agent, request } from "undici";
import { parseTraceparent } from "../../common/traceparent.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startCollector } from "../helpers/otlp-collector.ts";
import { waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";

t.test("spans per hop, linked by traceparent", async (t) => {
  const collector = await startCollector(t);
  const tracing = {
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "50",
  };
  const app = await startApp(t, { K_REVISION: "traced-00001" });
  const qp = await startQueueProxy(t, app.port, { ...tracing, SERVING_REVISION: "traced-00001" });
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("traced", [{ revision: "traced-00001", percent: 100 }])],
      [revisionState("traced-00001", "traced", { endpoints: [{ pod: "p", url: qp.url }] })],
    ),
  );
  const router = await startRouter(t, fake.url, tracing);
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const seenBy = async (traceparent?: string) => {
    const res = await request(`${router.url}/headers`, {
      dispatcher,
      headers: { host: "traced", ...(traceparent ? { traceparent } : {}) },
    });
    return (JSON.parse(await res.body.text()) as { headers: Record<string, string> }).headers.traceparent;
  };

  const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const atApp = parseTraceparent(await seenBy(incoming));
  t.equal(
    atApp?.traceId,
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "the app's request continues the client's trace",
  );
  const spans = await waitFor("router and queue-proxy spans", () => {
    const mine = collector.spans.filter((span) => span.traceId === atApp?.traceId);
    return mine.length >= 2 ? mine : undefined;
  });
  const routerSpan = spans.find((span) => span.name === "router GET");
  const qpSpan = spans.find((span) => span.name === "queue-proxy GET");
  t.equal(routerSpan?.parentSpanId, "00f067aa0ba902b7", "the router's span is the client's child");
  t.equal(qpSpan?.parentSpanId, routerSpan?.spanId, "the queue-proxy's span is the router's child");
  t.equal(atApp?.spanId, qpSpan?.spanId, "the app's parent is the queue-proxy's span");
  t.equal(routerSpan?.attributes["sluice.revision"], "traced-00001");
  t.equal(routerSpan?.attributes["http.response.status_code"], 200);
  t.equal(routerSpan?.resource["service.name"], "sluice-router");

  const started = parseTraceparent(await seenBy());
  t.ok(started, "without a traceparent the router starts a trace");
  await waitFor("the new trace's router span", () =>
    collector.spans.some((span) => span.traceId === started?.traceId && span.parentSpanId === undefined),
  );
});
