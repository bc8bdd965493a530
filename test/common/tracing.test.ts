import { registerHooks } from "node:module";
import t from "tap";
import { ConfigError } from "../../common/env.ts";
import { parseTraceparent } from "../../common/traceparent.ts";
import { startCollector } from "../helpers/otlp-collector.ts";

// Every @opentelemetry module resolved from here on is recorded, to show a disabled tracer loads
// none. tracing.ts is imported after the hook so that its own static imports are seen too.
const resolved: string[] = [];
const hooks = registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    if (result.url.includes("/@opentelemetry/")) resolved.push(result.url);
    return result;
  },
});
t.teardown(() => hooks.deregister());
const tracing = await import("../../common/tracing.ts");
const { loadTracingConfig, tracingEnabled } = tracing;

const OTEL_NAMES = () => Object.keys(process.env).filter((name) => name.startsWith("OTEL_"));

/**
 * The tracer as a component makes it from `env` alone: the SDK reads some variables from
 * process.env itself, so they are set there while it is built.
 */
async function createTracer(component: string, env: Record<string, string | undefined>) {
  const saved = Object.fromEntries(OTEL_NAMES().map((name) => [name, process.env[name]]));
  for (const name of OTEL_NAMES()) delete process.env[name];
  for (const [name, value] of Object.entries(env)) if (value !== undefined) process.env[name] = value;
  try {
    return await tracing.createTracer(component);
  } finally {
    for (const name of OTEL_NAMES()) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const SAMPLED_PARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const UNSAMPLED_PARENT = `00-${TRACE_ID}-${PARENT_ID}-00`;

const REQUEST = {
  "url.path": "/hello",
  "server.address": "hello.default.example.com",
  "sluice.revision": "hello-00001",
};

t.test("tracing is off, and the SDK never loaded, unless an endpoint is set", async (t) => {
  t.equal(resolved.length, 0, "importing tracing.ts loads no @opentelemetry module");
  const endpoint = "http://127.0.0.1:4318";
  for (const env of [
    {},
    { OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: "" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: "true" },
    { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint, OTEL_SDK_DISABLED: "TRUE" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: "none" },
  ]) {
    t.notOk(tracingEnabled(env), JSON.stringify(env));
    const tracer = await createTracer("router", env);
    t.equal(tracer.enabled, false);
    t.equal(tracer.startRequestSpan(SAMPLED_PARENT, "GET", REQUEST), undefined);
    t.equal(tracer.startRequestSpan(undefined, "GET", REQUEST), undefined);
    await tracer.shutdown();
  }
  t.same(resolved, [], "no @opentelemetry module was loaded");

  t.ok(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }));
  t.ok(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces` }));
  t.ok(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: "false" }));
  // The check above is meaningful: an enabled tracer does load the SDK.
  const collector = await startCollector(t);
  const tracer = await createTracer("router", { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint });
  t.equal(tracer.enabled, true);
  t.ok(resolved.some((url) => url.includes("/@opentelemetry/sdk-trace/")));
  t.notOk(
    resolved.some((url) => url.includes("/@opentelemetry/sdk-node/")),
    "sdk-node itself (metrics, logs, gRPC) is not loaded",
  );
  await tracer.shutdown();
});

t.test("configuration from the standard variables", async (t) => {
  const defaults = loadTracingConfig("queue-proxy", {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/",
  });
  t.equal(defaults.url, "http://127.0.0.1:4318/v1/traces");
  t.equal(defaults.protocol, "http/protobuf");
  t.equal(defaults.sampler, "parentbased_always_on");
  t.equal(defaults.otelLogLevel, undefined);

  const config = loadTracingConfig("router", {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector.example.com/custom/path",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "HTTP/JSON",
    OTEL_TRACES_SAMPLER: "ParentBased_TraceIdRatio",
    OTEL_TRACES_SAMPLER_ARG: "0.25",
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_BSP_MAX_QUEUE_SIZE: "4096",
  });
  t.equal(config.url, "https://collector.example.com/custom/path");
  t.equal(config.protocol, "http/json");
  t.equal(config.sampler, "parentbased_traceidratio");
  t.equal(config.samplerRatio, 0.25);
  t.same(config.batch, {
    scheduledDelayMillis: 100,
    exportTimeoutMillis: undefined,
    maxQueueSize: 4096,
    maxExportBatchSize: undefined,
  });
  t.notOk("headers" in config || "serviceName" in config, "what the SDK reads itself is not parsed here");
});

t.test("bad variables are a start-up error naming them", async (t) => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
  const cases: [Record<string, string>, RegExp][] = [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "127.0.0.1:4318" }, /OTEL_EXPORTER_OTLP_ENDPOINT="127\.0\.0\.1:4318"/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://[::1" }, /OTEL_EXPORTER_OTLP_ENDPOINT=.*http:\/\/ or https:\/\//],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://collector/v1/traces" },
      /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=/,
    ],
    [{ ...endpoint, OTEL_TRACES_SAMPLER: "sometimes" }, /OTEL_TRACES_SAMPLER="sometimes": expected one of/],
    [
      { ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" },
      /OTEL_TRACES_SAMPLER_ARG/,
    ],
    [{ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, /OTEL_EXPORTER_OTLP_PROTOCOL="grpc".*4318/],
    [{ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "thrift" }, /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/],
    [{ ...endpoint, OTEL_BSP_MAX_QUEUE_SIZE: "-1" }, /OTEL_BSP_MAX_QUEUE_SIZE/],
    [{ ...endpoint, OTEL_TRACES_EXPORTER: "zipkin" }, /OTEL_TRACES_EXPORTER="zipkin": expected otlp or none/],
    [{ ...endpoint, OTEL_PROPAGATORS: "b3" }, /OTEL_PROPAGATORS/],
    [{ ...endpoint, OTEL_LOG_LEVEL: "loud" }, /OTEL_LOG_LEVEL/],
  ];
  for (const [env, message] of cases) {
    const error = await createTracer("activator", env).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(error instanceof ConfigError, JSON.stringify(env));
    t.match((error as Error).message, /^activator: invalid configuration/);
    t.match((error as Error).message, message);
  }

  // Every problem at once.
  const many = await createTracer("router", {
    OTEL_EXPORTER_OTLP_ENDPOINT: "nope",
    OTEL_TRACES_SAMPLER: "maybe",
  }).catch((e: ConfigError) => e);
  t.equal((many as ConfigError).problems.length, 2);
});

for (const protocol of ["http/protobuf", "http/json"] as const) {
  t.test(`spans reach an OTLP collector (${protocol})`, async (t) => {
    const collector = await startCollector(t);
    const env: Record<string, string> = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=k%20123",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
    };
    // The default protocol is http/protobuf: only json is asked for by name.
    if (protocol === "http/json") env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
    const tracer = await createTracer("activator", env);
    t.equal(tracer.enabled, true);

    // A sampled parent: same trace, this span as the new parent upstream.
    const child = tracer.startRequestSpan(SAMPLED_PARENT, "POST", REQUEST)!;
    t.ok(child, "a span for a sampled parent");
    const childContext = parseTraceparent(child.traceparent)!;
    t.equal(childContext.traceId, TRACE_ID);
    t.not(childContext.spanId, PARENT_ID);
    t.equal(childContext.flags, 1);
    child.end(502);
    child.end(200); // idempotent: the first status stands

    // No traceparent, or a malformed one: a new sampled trace.
    const roots = [undefined, "00-garbage", `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`].map(
      (incoming) => tracer.startRequestSpan(incoming, "GET", { "url.path": "/", "server.address": "a" })!,
    );
    const rootContexts = roots.map((span) => parseTraceparent(span.traceparent)!);
    for (const context of rootContexts) {
      t.not(context.traceId, TRACE_ID);
      t.equal(context.flags, 1);
    }
    t.equal(new Set(rootContexts.map((c) => c.traceId)).size, 3, "each root starts its own trace");
    for (const span of roots) span.end(200);

    // The default sampler follows an unsampled parent: no span, the caller passes it through.
    t.equal(tracer.startRequestSpan(UNSAMPLED_PARENT, "GET", REQUEST), undefined);

    // A method HTTP semantic conventions do not know.
    const other = tracer.startRequestSpan(undefined, "PROPFIND", {})!;
    other.end(207);

    t.equal(collector.spans.length, 0, "spans are batched, not sent one by one");
    await tracer.shutdown();
    await tracer.shutdown();

    t.ok(collector.exports.length > 0);
    for (const sent of collector.exports) {
      t.equal(sent.path, "/v1/traces");
      t.match(sent.headers["content-type"], protocol === "http/json" ? /^application\/json/ : /protobuf/);
      t.equal(sent.headers["x-api-key"], "k 123", "OTEL_EXPORTER_OTLP_HEADERS are sent");
    }
    t.equal(collector.spans.length, 5);
    const byId = new Map(collector.spans.map((span) => [span.spanId, span]));

    const received = byId.get(childContext.spanId)!;
    t.ok(received, "the child span arrived");
    t.equal(received.traceId, TRACE_ID);
    t.equal(received.parentSpanId, PARENT_ID);
    t.equal(received.name, "activator POST");
    t.equal(received.kind, 2, "SpanKind SERVER");
    t.equal(received.statusCode, 2, "status ERROR for a 5xx");
    t.same(received.attributes, {
      ...REQUEST,
      "http.request.method": "POST",
      "http.response.status_code": 502,
      "error.type": "502",
    });
    t.equal(received.resource["service.name"], "sluice-activator");
    t.equal(received.resource["deployment.environment"], "test", "OTEL_RESOURCE_ATTRIBUTES, read by the SDK");
    t.equal(received.resource["telemetry.sdk.language"], "nodejs");

    for (const context of rootContexts) {
      const root = byId.get(context.spanId)!;
      t.equal(root.traceId, context.traceId);
      t.equal(root.parentSpanId, undefined, "a root span has no parent");
      t.equal(root.name, "activator GET");
      t.equal(root.statusCode, 0, "status unset below 500");
      t.equal(root.attributes["http.response.status_code"], 200);
      t.equal(root.attributes["error.type"], undefined);
    }

    const otherSpan = collector.spans.find((span) => span.name === "activator HTTP")!;
    t.equal(otherSpan.attributes["http.request.method"], "_OTHER");
    t.equal(otherSpan.attributes["http.request.method_original"], "PROPFIND");
    t.equal(otherSpan.attributes["http.response.status_code"], 207);
  });
}

t.test("samplers", async (t) => {
  const collector = await startCollector(t);
  const tracerWith = (sampler: string, arg?: string) =>
    createTracer("router", {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_TRACES_SAMPLER: sampler,
      ...(arg === undefined ? {} : { OTEL_TRACES_SAMPLER_ARG: arg }),
    });

  const alwaysOn = await tracerWith("always_on");
  const forced = alwaysOn.startRequestSpan(UNSAMPLED_PARENT, "GET", {});
  t.ok(forced, "always_on samples even under an unsampled parent");
  t.equal(parseTraceparent(forced!.traceparent)!.traceId, TRACE_ID);
  t.equal(parseTraceparent(forced!.traceparent)!.flags, 1);
  forced!.end(200);

  const alwaysOff = await tracerWith("always_off");
  t.equal(alwaysOff.startRequestSpan(SAMPLED_PARENT, "GET", {}), undefined);
  const dropped = alwaysOff.startRequestSpan(undefined, "GET", {});
  t.equal(
    parseTraceparent(dropped?.traceparent)?.flags,
    0,
    "a new trace not sampled says so upstream (flags 00)",
  );
  dropped?.end(200);

  const parentOff = await tracerWith("parentbased_always_off");
  t.equal(
    parseTraceparent(parentOff.startRequestSpan(undefined, "GET", {})?.traceparent)?.flags,
    0,
    "no root spans: only the decision travels on",
  );
  const followed = parentOff.startRequestSpan(SAMPLED_PARENT, "GET", {});
  t.ok(followed, "a sampled parent is followed");
  followed!.end(200);

  const never = await tracerWith("traceidratio", "0");
  t.equal(parseTraceparent(never.startRequestSpan(undefined, "GET", {})?.traceparent)?.flags, 0);
  const always = await tracerWith("parentbased_traceidratio", "1");
  const sampled = always.startRequestSpan(undefined, "GET", {});
  t.ok(sampled);
  sampled!.end(200);
  t.equal(always.startRequestSpan(UNSAMPLED_PARENT, "GET", {}), undefined);

  for (const tracer of [alwaysOn, alwaysOff, parentOff, never, always]) await tracer.shutdown();
  t.equal(collector.spans.length, 3);
});

t.test("shutdown rejects, naming the endpoint, when the collector refuses the spans", async (t) => {
  const collector = await startCollector(t, 400);
  const tracer = await createTracer("queue-proxy", {
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  });
  tracer.startRequestSpan(undefined, "GET", {})!.end(200);
  await t.rejects(tracer.shutdown(), {
    message: new RegExp(`could not export the last spans to ${collector.endpoint}/v1/traces`),
  });
  t.equal(collector.exports.length, 1);
});
