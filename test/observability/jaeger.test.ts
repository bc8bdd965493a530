// Traces through `sluice up`, read back from a real Jaeger v2 (scripts/tools/build.sh jaeger):
// every component exports to Jaeger's OTLP/HTTP receiver (OTEL_EXPORTER_OTLP_ENDPOINT), and the
// test reads /api/v3/traces. A revision with target-burst-capacity -1 keeps the activator in the
// path, so a request crosses router → activator → queue-proxy → app. The app (test/fixtures/app.ts)
// answers /headers with what it received: the traceparent and baggage the last hop sent on.
import { randomBytes } from "node:crypto";
import t from "tap";
import { Agent, request } from "undici";
import { appService } from "../helpers/autoscaler.ts";
import { attribute, type JaegerSpan, skipUnlessJaeger, startJaegerForTest } from "../helpers/jaeger.ts";
import { waitFor } from "../helpers/processes.ts";
import { sluiceUp } from "./sluice-up.ts";

const skip = skipUnlessJaeger();
const HOST = "traced.default.example.com";
const SERVICES = ["sluice-router", "sluice-activator", "sluice-queue-proxy"];
/** OTEL_TRACES_SAMPLER_ARG, and requests without a parent: 25 % of 200 is 50, sd 6.1. */
const RATIO = 0.25;
const UNPARENTED = 200;
/** Over 4 standard deviations either side: a wrong ratio fails, chance alone about once in 30,000 runs. */
const SAMPLED_BOUNDS = [25, 75] as const;

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const lower = (id: string | undefined) => id?.toLowerCase();

// Its test allows 300 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(330_000);
t.test("traces through sluice up, read back from Jaeger", { skip, timeout: 300_000 }, async (t) => {
  const jaeger = await startJaegerForTest(t);
  const up = await sluiceUp(
    t,
    [
      appService("traced", {
        annotations: [
          'autoscaling.knative.dev/target-burst-capacity: "-1"',
          'autoscaling.knative.dev/initial-scale: "0"',
          'autoscaling.knative.dev/min-scale: "0"',
        ],
      }),
      appService("slow", {
        timeoutSeconds: 1,
        annotations: ['autoscaling.knative.dev/target-burst-capacity: "-1"'],
      }),
    ],
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl,
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: String(RATIO),
      OTEL_BSP_SCHEDULE_DELAY: "100",
    },
  );
  const dispatcher = new Agent({ connections: 16 });
  t.teardown(() => dispatcher.close());
  /** GET /headers through the router; the app's view of the request's headers. */
  const get = async (headers: Record<string, string> = {}) => {
    const res = await request(`${up.routerUrl}/headers`, { dispatcher, headers: { host: HOST, ...headers } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET /headers: ${res.statusCode} ${text}`);
    return (JSON.parse(text) as { headers: Record<string, string | undefined> }).headers;
  };
  /** The spans of a trace once every component's span is in Jaeger. */
  const traceOf = (traceId: string, what: string) =>
    waitFor(
      `${what}: spans of ${SERVICES.join(", ")} in Jaeger`,
      async () => {
        const spans = await jaeger.trace(traceId);
        const missing = SERVICES.filter((s) => !spans.some((span) => span.service === s));
        // Thrown, so that a timeout names the hops whose spans never came.
        if (missing.length > 0)
          throw new Error(`${spans.length} spans so far, none from ${missing.join(", ")}`);
        return spans;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
  /** A hop's SERVER span (the activator's wait for a pod is an INTERNAL span beside it). */
  const isServer = (span: JaegerSpan) => span.kind === 2 || String(span.kind) === "SPAN_KIND_SERVER";
  const only = (spans: JaegerSpan[], service: string) =>
    spans.filter((span) => span.service === service && isServer(span));

  await t.test("a sampled parent: one trace per request, each hop the parent of the next", async (t) => {
    for (let i = 0; i < 5; i++) {
      const traceId = hex(16);
      const parentId = hex(8);
      const baggage = `user=alice,request=${i}`;
      const seen = await get({ traceparent: `00-${traceId}-${parentId}-01`, baggage });
      const spans = await traceOf(traceId, `request ${i}${i === 0 ? " (a cold start)" : ""}`);
      t.same(
        spans
          .filter(isServer)
          .map((s) => s.service)
          .sort(),
        [...SERVICES].sort(),
        `request ${i}: one SERVER span per component`,
      );
      t.ok(
        spans.every((s) => lower(s.traceId) === traceId),
        `request ${i}: all in the caller's trace`,
      );
      const [router] = only(spans, "sluice-router");
      const [activator] = only(spans, "sluice-activator");
      const [queueProxy] = only(spans, "sluice-queue-proxy");
      t.equal(
        lower(router?.parentSpanId),
        parentId,
        `request ${i}: the router's parent is the caller's span`,
      );
      t.equal(lower(activator?.parentSpanId), lower(router?.spanId), `request ${i}: router → activator`);
      t.equal(
        lower(queueProxy?.parentSpanId),
        lower(activator?.spanId),
        `request ${i}: activator → queue-proxy`,
      );
      t.equal(
        seen.traceparent,
        `00-${traceId}-${lower(queueProxy?.spanId)}-01`,
        `request ${i}: the app's parent is the queue-proxy's span`,
      );
      t.equal(seen.baggage, baggage, `request ${i}: baggage passed through unchanged`);
      t.equal(
        attribute(router, "sluice.revision"),
        "traced-00001",
        `request ${i}: the router's span names the revision`,
      );
      t.equal(attribute(router, "http.response.status_code"), "200");
      const waits = spans.filter((s) => s.service === "sluice-activator" && !isServer(s));
      if (i === 0) {
        // The cold start: the request waited at the activator for the revision's first pod, and
        // that wait is a child of the activator's span, with the revision, the time and the pods
        // that became ready meanwhile.
        t.equal(waits.length, 1, "the cold start's wait at the activator is a span of its own");
        const [wait] = waits;
        t.equal(wait?.name, "activator wait for pod");
        t.equal(lower(wait?.parentSpanId), lower(activator?.spanId), "a child of the activator's span");
        t.equal(attribute(wait, "sluice.revision"), "traced-00001", "the wait names the revision");
        t.ok(Number(attribute(wait, "sluice.wait.seconds")) > 0, "the time waited", {
          waited: attribute(wait, "sluice.wait.seconds"),
        });
        t.equal(attribute(wait, "sluice.pods.ready_at_start"), "0", "no pod was ready when it began");
        t.ok(Number(attribute(wait, "sluice.pods.started")) >= 1, "a pod started during the wait", {
          started: attribute(wait, "sluice.pods.started"),
        });
        t.notOk(wait?.status?.code === 2 || String(wait?.status?.code) === "STATUS_CODE_ERROR", "no error");
      } else t.same(waits, [], `request ${i}: a pod was ready, so no wait span`);
    }
  });

  await t.test(
    "an unsampled parent (flags 00): nothing recorded, traceparent passed on as it came",
    async (t) => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const traceId = hex(16);
        const traceparent = `00-${traceId}-${hex(8)}-00`;
        ids.push(traceId);
        const seen = await get({ traceparent, baggage: "k=v" });
        t.equal(seen.traceparent, traceparent, `request ${i}: the app got the caller's traceparent`);
        t.equal(seen.baggage, "k=v");
      }
      // Spans are exported in order: once a later sampled request is in Jaeger, earlier ones would be.
      const marker = hex(16);
      await get({ traceparent: `00-${marker}-${hex(8)}-01` });
      await traceOf(marker, "the marker request");
      for (const id of ids) t.same(await jaeger.trace(id), [], `trace ${id}: nothing in Jaeger`);
    },
  );

  await t.test("5xx: every hop's span has an error status, and says why", async (t) => {
    const isError = (span: JaegerSpan | undefined) =>
      span?.status?.code === 2 || String(span?.status?.code) === "STATUS_CODE_ERROR";
    // The app's own 503, passed back through every hop.
    const fromApp = hex(16);
    const res = await request(`${up.routerUrl}/status?code=503`, {
      dispatcher,
      headers: { host: HOST, traceparent: `00-${fromApp}-${hex(8)}-01` },
    });
    await res.body.dump();
    t.equal(res.statusCode, 503);
    for (const span of await traceOf(fromApp, "the app's 503")) {
      t.ok(isError(span), `${span.service}: error status for the app's 503`, { status: span.status });
      t.equal(attribute(span, "http.response.status_code"), "503", `${span.service}: the status code`);
      t.equal(
        attribute(span, "sluice.reason"),
        "upstream_status",
        `${span.service}: the app's answer, passed on`,
      );
    }
    // sluice's own 504: the revision's 1 s timeout, the app never answering. A pod first (the
    // activator's wait for one counts against the same 1 s).
    await waitFor(
      "a pod of slow",
      async () => {
        const warm = await request(`${up.routerUrl}/`, {
          dispatcher,
          headers: { host: "slow.default.example.com" },
        });
        await warm.body.dump();
        return warm.statusCode === 200;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
    const timedOut = hex(16);
    const slow = await request(`${up.routerUrl}/hold`, {
      dispatcher,
      headers: { host: "slow.default.example.com", traceparent: `00-${timedOut}-${hex(8)}-01` },
    });
    await slow.body.dump();
    t.equal(slow.statusCode, 504, "the revision timeout answered 504");
    const spans = await traceOf(timedOut, "the 504");
    for (const span of [...only(spans, "sluice-router"), ...only(spans, "sluice-activator")]) {
      t.ok(isError(span), `${span.service}: error status for the 504`, { status: span.status });
      t.equal(attribute(span, "http.response.status_code"), "504", `${span.service}: the status code`);
    }
    const [queueProxy] = only(spans, "sluice-queue-proxy");
    // The queue-proxy, nearest the app, answers the revision timeout; the activator (which started
    // its clock first) gives it QUEUE_PROXY_GRACE_MS and the router its slack, so neither races it
    // and every hop's span carries the same 504.
    t.ok(isError(queueProxy), "sluice-queue-proxy: error status for the 504", { status: queueProxy?.status });
    t.equal(attribute(queueProxy, "http.response.status_code"), "504", "sluice-queue-proxy: the status code");
    t.equal(attribute(queueProxy, "sluice.reason"), "revision_timeout", "the queue-proxy's span says why");
    t.match(queueProxy?.status?.message, /timed out after 1s/, "and its status message says so too");
    for (const span of [...only(spans, "sluice-router"), ...only(spans, "sluice-activator")]) {
      t.equal(attribute(span, "sluice.reason"), "upstream_status", `${span.service}: passed on the 504`);
      t.match(span.status?.message, /upstream answered 504/, `${span.service}: its status message`);
    }
  });

  await t.test(`no parent: the router samples ${RATIO * 100} % and the other hops follow it`, async (t) => {
    const seen: (string | undefined)[] = [];
    const from = Date.now();
    const loops = Array.from({ length: 8 }, async () => {
      while (seen.length < UNPARENTED) {
        seen.push(undefined);
        const index = seen.length - 1;
        seen[index] = (await get()).traceparent;
      }
    });
    await Promise.all(loops);
    const sampled = seen.filter((tp): tp is string => tp?.endsWith("-01") === true);
    t.same(
      seen.filter((tp) => tp === undefined || !(tp.endsWith("-01") || tp.endsWith("-00"))),
      [],
      "every request reaches the app with a traceparent: sampled, or the router's 'not sampled' (00)",
    );
    // Each process exports its spans in order: once a later request's three spans are in Jaeger,
    // every earlier span of every component is too.
    const marker = hex(16);
    await get({ traceparent: `00-${marker}-${hex(8)}-01` });
    await traceOf(marker, "the marker request");
    const sampledIds = new Set(sampled.map((tp) => tp.split("-")[1]));
    const rootedAt: Record<string, number> = {};
    for (const id of sampledIds) {
      const root = (await jaeger.trace(id)).find((span) => !span.parentSpanId)?.service ?? "no root span";
      rootedAt[root] = (rootedAt[root] ?? 0) + 1;
    }
    const byRouter = rootedAt["sluice-router"] ?? 0;
    t.ok(
      byRouter >= SAMPLED_BOUNDS[0] && byRouter <= SAMPLED_BOUNDS[1],
      `${byRouter} of ${UNPARENTED} traces started by the router: within ${SAMPLED_BOUNDS.join("–")} for a ratio of ${RATIO}`,
    );
    t.same(
      rootedAt,
      byRouter > 0 ? { "sluice-router": byRouter } : {},
      "every trace the app saw starts at the router: a hop behind it follows the router's decision " +
        "instead of sampling again on its own",
    );
    // No span of the activator or a queue-proxy since belongs to a trace the router did not start.
    for (const service of ["sluice-activator", "sluice-queue-proxy"]) {
      const strays = new Set(
        (await jaeger.spans(service, from))
          .filter((span) => !sampledIds.has(lower(span.traceId) as string) && lower(span.traceId) !== marker)
          .map((span) => lower(span.traceId)),
      );
      t.equal(strays.size, 0, `${service}: no trace of its own for requests the router did not sample`);
    }
  });
});
