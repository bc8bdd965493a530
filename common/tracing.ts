// Tracing for the data plane: one SERVER span per request when tracing is on and the trace is
// sampled, exported over OTLP/HTTP in batches. Off (the default), nothing of OpenTelemetry is
// loaded and startRequestSpan is a function returning undefined. On, only the tracing SDK and one
// exporter are loaded (not @opentelemetry/sdk-node's metrics, logs and gRPC), nothing is
// registered globally and nothing is auto-instrumented: the proxies call startRequestSpan themselves.

import type { Context, Tracer as OtelTracer, Span, SpanContext } from "@opentelemetry/api";
import type { Sampler, TracerProvider } from "@opentelemetry/sdk-trace";
import { EnvReader } from "./env.ts";
import { createLogger } from "./log.ts";
import { formatTraceparent, isSampled, newSpanId, newTraceId, parseTraceparent } from "./traceparent.ts";

export interface RequestSpan {
  /** The traceparent header value to send upstream (this span as the parent). */
  readonly traceparent: string;
  /**
   * Ends the span with the HTTP status (>=500 marks it an error); idempotent. `reason` says why
   * this hop answered as it did (`sluice.reason`, e.g. revision_timeout, queue_full) and `message`
   * becomes the error status's description, so a trace tells a timeout from a refused pod.
   */
  end(status: number, reason?: string, message?: string): void;
  /**
   * Starts an INTERNAL child span of this one (the activator's wait for a pod), or undefined when
   * this span records nothing (a trace not sampled here).
   */
  child(name: string, attributes: Record<string, string | number>): ChildSpan | undefined;
}

/** A span inside a request's span: its attributes are known only when it ends. */
export interface ChildSpan {
  /** Ends it with these attributes; with `error`, an error status whose description it is. Idempotent. */
  end(attributes: Record<string, string | number>, error?: string): void;
}

/** A span that is not an HTTP server's request (eventing's deliveries and sources): see startSpan. */
export interface HopSpan extends ChildSpan {
  /** The traceparent to send on (this span as the parent). */
  readonly traceparent: string;
}

export type HopKind = "server" | "client" | "producer";

export interface Tracer {
  readonly enabled: boolean;
  /**
   * Starts a SERVER span for a request, or returns undefined when tracing is off or an incoming
   * trace is not sampled (then the caller passes the incoming traceparent through untouched). A
   * new trace this hop does not sample gets a span that records nothing but whose traceparent
   * (flags 00) carries the decision upstream. `incoming` is
   * the request's traceparent header (may be absent or malformed: then a new trace starts, if
   * sampled). `attributes` are added to the span as they are, e.g. `url.path` (without the query),
   * `server.address` (the Host without the port), `sluice.revision`; `http.request.method` is set
   * here and `http.response.status_code` by end().
   */
  startRequestSpan(
    incoming: string | undefined,
    method: string,
    attributes: Record<string, string | number>,
  ): RequestSpan | undefined;
  /**
   * Starts a span named `name` of `kind` under `parent` (a traceparent, may be absent or
   * malformed: then a new trace starts), by startRequestSpan's rules: undefined when tracing is
   * off or the parent is not sampled; a new trace not sampled gets a span recording nothing whose
   * traceparent (flags 00) carries the decision on.
   */
  startSpan(
    parent: string | undefined,
    name: string,
    kind: HopKind,
    attributes: Record<string, string | number>,
  ): HopSpan | undefined;
  /**
   * Flushes and stops the exporter (called on shutdown). Rejects, naming the endpoint, when the
   * last spans could not be exported: log it and go on.
   */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
type SamplerName = (typeof SAMPLERS)[number];

const PROTOCOLS = ["http/protobuf", "http/json"] as const;
const OTEL_LOG_LEVELS = ["none", "error", "warn", "info", "debug", "verbose", "all"] as const;

/**
 * What sluice reads from the OTEL_* environment itself: whether tracing is on and which exporter
 * module to load, and what the SDK no longer reads (since sdk-trace 2.x the sampler and the batch
 * processor are configured in code). The exporter reads its own variables (endpoint, headers,
 * timeout, compression, certificates) and the resource detector reads OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES: sluice passes none of those, and routes the SDK's warnings about them
 * to the log.
 */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL the exporter will use, for messages. */
  url: string;
  protocol: (typeof PROTOCOLS)[number];
  sampler: SamplerName;
  /** The ratio for the traceidratio samplers. */
  samplerRatio: number;
  batch: {
    scheduledDelayMillis?: number;
    exportTimeoutMillis?: number;
    maxQueueSize?: number;
    maxExportBatchSize?: number;
  };
  /** OTEL_LOG_LEVEL; the SDK's own warnings are shown when unset. */
  otelLogLevel: (typeof OTEL_LOG_LEVELS)[number] | undefined;
}

function isBlank(value: string | undefined): value is undefined {
  return value === undefined || value.trim() === "";
}

function list(value: string | undefined): string[] {
  if (isBlank(value)) return [];
  return value
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== "");
}

/**
 * Tracing is on when an OTLP endpoint is set, unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none.
 */
export function tracingEnabled(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  if (list(env.OTEL_TRACES_EXPORTER).includes("none")) return false;
  return !isBlank(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || !isBlank(env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** A case-insensitive choice among `allowed` (OpenTelemetry's enum values are case-insensitive). */
function choice<T extends string>(
  env: EnvReader,
  name: string,
  allowed: readonly T[],
  fallback: T,
  hint = "",
): T {
  const raw = env.optionalString(name);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  env.problem(`${name}=${JSON.stringify(raw)}: expected one of ${allowed.join(", ")}${hint}`);
  return fallback;
}

/**
 * The endpoint is checked here although the exporter reads it too: on a malformed URL the SDK
 * only warns and sends to localhost, which would hide a typo.
 */
function httpUrl(env: EnvReader, name: string, value: string, path?: string): string {
  let url: URL | undefined;
  try {
    url = new URL(path === undefined ? value : `${value.replace(/\/+$/, "")}/${path}`);
  } catch {}
  if (url?.protocol !== "http:" && url?.protocol !== "https:") {
    env.problem(`${name}=${JSON.stringify(value)}: expected an http:// or https:// URL`);
    return "http://invalid";
  }
  return url.href;
}

function optionalInt(env: EnvReader, name: string, min: number, max: number): number | undefined {
  return env.optionalString(name) === undefined ? undefined : env.int(name, min, { min, max });
}

/**
 * Reads the OTEL_* variables sluice itself acts on (see TracingConfig). Throws a ConfigError naming
 * every bad variable.
 */
export function loadTracingConfig(component: string, source: Env = process.env): TracingConfig {
  const env = new EnvReader(component, source);

  const exporters = list(source.OTEL_TRACES_EXPORTER).filter((name) => name !== "otlp");
  if (exporters.length > 0)
    env.problem(`OTEL_TRACES_EXPORTER=${JSON.stringify(source.OTEL_TRACES_EXPORTER)}: expected otlp or none`);
  const propagators = list(source.OTEL_PROPAGATORS).filter((n) => n !== "tracecontext" && n !== "baggage");
  if (propagators.length > 0)
    env.problem(
      `OTEL_PROPAGATORS=${JSON.stringify(source.OTEL_PROPAGATORS)}: sluice propagates W3C tracecontext only (baggage passes through)`,
    );

  const tracesEndpoint = env.optionalString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const endpoint = env.optionalString("OTEL_EXPORTER_OTLP_ENDPOINT");
  let url = "http://localhost:4318/v1/traces";
  if (tracesEndpoint !== undefined) url = httpUrl(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracesEndpoint);
  else if (endpoint !== undefined) url = httpUrl(env, "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "v1/traces");

  const protocolName = isBlank(source.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
    ? "OTEL_EXPORTER_OTLP_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
  const protocol = choice(
    env,
    protocolName,
    PROTOCOLS,
    "http/protobuf",
    " (grpc is not supported: use the collector's OTLP/HTTP port, 4318)",
  );

  const sampler = choice(env, "OTEL_TRACES_SAMPLER", SAMPLERS, "parentbased_always_on");
  const samplerRatio = sampler.endsWith("traceidratio")
    ? env.number("OTEL_TRACES_SAMPLER_ARG", 1, { min: 0, max: 1 })
    : 1;

  const batch = {
    scheduledDelayMillis: optionalInt(env, "OTEL_BSP_SCHEDULE_DELAY", 0, 3_600_000),
    exportTimeoutMillis: optionalInt(env, "OTEL_BSP_EXPORT_TIMEOUT", 1, 3_600_000),
    maxQueueSize: optionalInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", 1, 1_000_000),
    maxExportBatchSize: optionalInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 1_000_000),
  };
  const otelLogLevel =
    env.optionalString("OTEL_LOG_LEVEL") === undefined
      ? undefined
      : choice(env, "OTEL_LOG_LEVEL", OTEL_LOG_LEVELS, "none");

  env.finish();
  return { url, protocol, sampler, samplerRatio, batch, otelLogLevel };
}

const DISABLED: Tracer = Object.freeze({
  enabled: false,
  startRequestSpan: () => undefined,
  startSpan: () => undefined,
  shutdown: async () => {},
});

/**
 * The tracer for a component (`router`, `activator`, `queue-proxy`), configured by the standard
 * OTEL_* variables of the process environment (the SDK reads some of them itself, so no other
 * environment can be given). Off unless an OTLP endpoint is set; then the SDK is loaded here, once.
 * Rejects with a ConfigError naming every bad variable sluice reads.
 */
export async function createTracer(component: string): Promise<Tracer> {
  if (!tracingEnabled(process.env)) return DISABLED;
  return startSdkTracer(component, loadTracingConfig(component, process.env));
}

// The methods HTTP semantic conventions know; any other is reported as _OTHER.
const KNOWN_METHODS = [
  "CONNECT",
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "POST",
  "PUT",
  "TRACE",
  "QUERY",
];

async function startSdkTracer(component: string, config: TracingConfig): Promise<Tracer> {
  const [api, sdk, resources, exporterModule] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    config.protocol === "http/json"
      ? import("@opentelemetry/exporter-trace-otlp-http")
      : import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  // The SDK reports bad values of the variables it reads itself only through diag: show its
  // warnings unless OTEL_LOG_LEVEL says otherwise.
  const level =
    api.DiagLogLevel[(config.otelLogLevel ?? "warn").toUpperCase() as keyof typeof api.DiagLogLevel];
  const log = createLogger(component, "trace").child({ otel: true });
  api.diag.setLogger(
    {
      error: (message, ...args) => log.error({ args }, message),
      warn: (message, ...args) => log.warn({ args }, message),
      info: (message, ...args) => log.info({ args }, message),
      debug: (message, ...args) => log.debug({ args }, message),
      verbose: (message, ...args) => log.trace({ args }, message),
    },
    { logLevel: level, suppressOverrideMessage: true },
  );

  // Endpoint, headers, timeout, compression and certificates come from the OTEL_EXPORTER_OTLP_*
  // variables, read by the exporter.
  const exporter = new exporterModule.OTLPTraceExporter();
  const ratio = new sdk.TraceIdRatioBasedSampler(config.samplerRatio);
  const samplers: Record<SamplerName, () => Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => ratio,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratio }),
  };
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over sluice's defaults.
  const resource = resources
    .defaultResource()
    .merge(
      resources.resourceFromAttributes({
        // node:os only now: a process that does not trace never loads it (~0.5 MB of RSS).
        "host.name": process.getBuiltinModule("node:os").hostname(),
        "process.pid": process.pid,
        "service.name": `sluice-${component}`,
      }),
    )
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    sampler: samplers[config.sampler](),
    idGenerator: { generateTraceId: newTraceId, generateSpanId: newSpanId },
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...config.batch })],
  });
  return new SdkTracer(component, config, provider, api);
}

type Api = typeof import("@opentelemetry/api");

class SdkTracer implements Tracer {
  readonly enabled = true;
  readonly #provider: TracerProvider;
  readonly #tracer: OtelTracer;
  readonly #api: Api;
  readonly #url: string;
  /** A parent-based sampler never samples under an unsampled parent: no need to ask the SDK. */
  readonly #parentDecides: boolean;
  readonly #spanNames: Map<string, string>;
  readonly #otherName: string;
  readonly #server: number;
  readonly #error: number;

  constructor(component: string, config: TracingConfig, provider: TracerProvider, api: Api) {
    this.#provider = provider;
    this.#tracer = provider.getTracer("sluice");
    this.#api = api;
    this.#url = config.url;
    this.#parentDecides = config.sampler.startsWith("parentbased_");
    this.#spanNames = new Map(KNOWN_METHODS.map((method) => [method, `${component} ${method}`]));
    this.#otherName = `${component} HTTP`;
    this.#server = api.SpanKind.SERVER;
    this.#error = api.SpanStatusCode.ERROR;
  }

  /** The context a span starts in: the incoming parent's (remote), or a new trace's root. */
  #parentContext(parent: ReturnType<typeof parseTraceparent>): Context {
    if (parent === undefined) return this.#api.ROOT_CONTEXT;
    return this.#api.trace.setSpanContext(this.#api.ROOT_CONTEXT, {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: parent.flags,
      isRemote: true,
    });
  }

  startRequestSpan(
    incoming: string | undefined,
    method: string,
    attributes: Record<string, string | number>,
  ): RequestSpan | undefined {
    const parent = parseTraceparent(incoming);
    if (parent !== undefined && this.#parentDecides && !isSampled(parent.flags)) return undefined;
    const context = this.#parentContext(parent);
    const known = this.#spanNames.get(method);
    // Attributes go on once the span records: the SDK cleans every attribute it is given at the
    // start, sampled or not (most of the cost of a request not sampled), and sluice's samplers
    // (OTEL_TRACES_SAMPLER's built-in ones) decide without looking at attributes.
    const span = this.#tracer.startSpan(known ?? this.#otherName, { kind: this.#server }, context);
    if (!span.isRecording()) {
      // A trace this hop started and chose not to sample: the next hops must hear "not sampled"
      // (flags 00), or each parent-based sampler behind would start a trace of its own.
      if (parent === undefined) return unsampledDecision(span.spanContext());
      return undefined;
    }
    span.setAttributes(attributes);
    if (known === undefined)
      span.setAttributes({ "http.request.method": "_OTHER", "http.request.method_original": method });
    else span.setAttribute("http.request.method", method);
    return new SdkRequestSpan(span, span.spanContext(), this);
  }

  startSpan(
    incoming: string | undefined,
    name: string,
    kind: HopKind,
    attributes: Record<string, string | number>,
  ): HopSpan | undefined {
    const parent = parseTraceparent(incoming);
    if (parent !== undefined && this.#parentDecides && !isSampled(parent.flags)) return undefined;
    const api = this.#api;
    const context = this.#parentContext(parent);
    const spanKind =
      kind === "client" ? api.SpanKind.CLIENT : kind === "producer" ? api.SpanKind.PRODUCER : this.#server;
    const span = this.#tracer.startSpan(name, { kind: spanKind }, context); // attributes: as startRequestSpan
    const own = span.spanContext();
    if (!span.isRecording()) {
      if (parent !== undefined) return undefined;
      const traceparent = formatTraceparent({ traceId: own.traceId, spanId: own.spanId, flags: 0 });
      return { traceparent, end() {} };
    }
    span.setAttributes(attributes);
    return new SdkHopSpan(span, this.#error, own);
  }

  /** A child of `parent` (rare path: the activator's wait for a pod). */
  startChild(parent: Span, name: string, attributes: Record<string, string | number>): ChildSpan {
    const api = this.#api;
    const span = this.#tracer.startSpan(
      name,
      { kind: api.SpanKind.INTERNAL, attributes },
      api.trace.setSpan(api.ROOT_CONTEXT, parent),
    );
    return new SdkChildSpan(span, this.#error);
  }

  get errorCode(): number {
    return this.#error;
  }

  async shutdown(): Promise<void> {
    try {
      await this.#provider.shutdown();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`tracing: could not export the last spans to ${this.#url}: ${reason}`, {
        cause: error,
      });
    }
  }
}

/** A new trace not sampled here: nothing is recorded, only the decision travels on. */
function unsampledDecision(context: SpanContext): RequestSpan {
  const traceparent = formatTraceparent({ traceId: context.traceId, spanId: context.spanId, flags: 0 });
  return { traceparent, end() {}, child: () => undefined };
}

class SdkRequestSpan implements RequestSpan {
  readonly traceparent: string;
  #span: Span | undefined;
  readonly #tracer: SdkTracer;

  constructor(span: Span, context: SpanContext, tracer: SdkTracer) {
    this.#span = span;
    this.#tracer = tracer;
    this.traceparent = formatTraceparent({
      traceId: context.traceId,
      spanId: context.spanId,
      flags: context.traceFlags,
    });
  }

  end(status: number, reason?: string, message?: string): void {
    const span = this.#span;
    if (span === undefined) return;
    this.#span = undefined;
    span.setAttribute("http.response.status_code", status);
    if (reason !== undefined) span.setAttribute("sluice.reason", reason);
    if (status >= 500) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: this.#tracer.errorCode, message });
    }
    span.end();
  }

  child(name: string, attributes: Record<string, string | number>): ChildSpan | undefined {
    return this.#span && this.#tracer.startChild(this.#span, name, attributes);
  }
}

class SdkChildSpan implements ChildSpan {
  #span: Span | undefined;
  readonly #error: number;

  constructor(span: Span, error: number) {
    this.#span = span;
    this.#error = error;
  }

  end(attributes: Record<string, string | number>, error?: string): void {
    const span = this.#span;
    if (span === undefined) return;
    this.#span = undefined;
    span.setAttributes(attributes);
    if (error !== undefined) span.setStatus({ code: this.#error, message: error });
    span.end();
  }
}

class SdkHopSpan extends SdkChildSpan implements HopSpan {
  readonly traceparent: string;

  constructor(span: Span, error: number, context: SpanContext) {
    super(span, error);
    this.traceparent = formatTraceparent({
      traceId: context.traceId,
      spanId: context.spanId,
      flags: context.traceFlags,
    });
  }
}
