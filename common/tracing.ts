// Tracing for the data plane: one SERVER span per request when tracing is on and the trace is
// sampled, exported over OTLP/HTTP in batches. Off (the default), nothing of OpenTelemetry is
// loaded and startRequestSpan is a function returning undefined. On, only the tracing SDK and one
// exporter are loaded (not @opentelemetry/sdk-node's metrics, logs and gRPC), nothing is
// registered globally and nothing is auto-instrumented: the proxies call startRequestSpan themselves.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Context, Tracer as OtelTracer, Span, SpanContext } from "@opentelemetry/api";
import type { Sampler, TracerProvider } from "@opentelemetry/sdk-trace";
import { EnvReader } from "./env.ts";
import { formatTraceparent, isSampled, newSpanId, newTraceId, parseTraceparent } from "./traceparent.ts";

export interface RequestSpan {
  /** The traceparent header value to send upstream (this span as the parent). */
  readonly traceparent: string;
  /** Ends the span with the HTTP status (>=500 marks it an error); idempotent. */
  end(status: number): void;
}

export interface Tracer {
  readonly enabled: boolean;
  /**
   * Starts a SERVER span for a request, or returns undefined when tracing is off or the trace is
   * not sampled (then the caller passes the incoming traceparent through untouched). `incoming` is
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
const LOG_LEVELS = ["none", "error", "warn", "info", "debug", "verbose", "all"] as const;

/** Everything tracing needs from the OTEL_* environment, checked. */
export interface TracingConfig {
  /** The full OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  url: string;
  protocol: (typeof PROTOCOLS)[number];
  headers: Record<string, string>;
  timeoutMs: number | undefined;
  compression: "gzip" | "none" | undefined;
  /** TLS material for an https endpoint, read from the files the variables name. */
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  sampler: SamplerName;
  /** The ratio for the traceidratio samplers. */
  samplerRatio: number;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  batch: {
    scheduledDelayMillis?: number;
    exportTimeoutMillis?: number;
    maxQueueSize?: number;
    maxExportBatchSize?: number;
  };
  logLevel: (typeof LOG_LEVELS)[number] | undefined;
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

/** An http(s) URL, with `path` appended when given; a bad one is reported by name. */
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

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * W3C-baggage-style `key=value,key=value` with percent-encoded values, as OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS use. Problems name the entry, never its value (headers carry tokens).
 */
function keyValues(env: EnvReader, name: string, into: Record<string, string>, headers = false): void {
  const raw = env.optionalString(name);
  if (raw === undefined) return;
  const entries = raw.split(",");
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i].trim();
    if (entry === "") continue;
    const equals = entry.indexOf("=");
    const key = equals > 0 ? entry.slice(0, equals).trim() : "";
    let value: string | undefined;
    try {
      value = decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {}
    if (
      key === "" ||
      value === undefined ||
      (headers && (!HEADER_NAME.test(key) || /[\r\n\0]/.test(value)))
    ) {
      env.problem(`${name}: entry ${i + 1} is not a valid key=value pair (values are percent-encoded)`);
      continue;
    }
    into[key] = value;
  }
}

function optionalInt(env: EnvReader, name: string, min: number, max: number): number | undefined {
  return env.optionalString(name) === undefined ? undefined : env.int(name, min, { min, max });
}

function file(env: EnvReader, name: string): Buffer | undefined {
  const path = env.optionalString(name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    env.problem(`${name}=${JSON.stringify(path)}: cannot read: ${(error as Error).message}`);
    return undefined;
  }
}

/** OTEL_EXPORTER_OTLP_TRACES_<what> when it is set, else OTEL_EXPORTER_OTLP_<what>. */
function tracesOrGeneral(source: Env, what: string): string {
  const specific = `OTEL_EXPORTER_OTLP_TRACES_${what}`;
  return isBlank(source[specific]) ? `OTEL_EXPORTER_OTLP_${what}` : specific;
}

/**
 * Reads the standard OTEL_* variables for traces (signal-specific ones win over the general ones).
 * Throws a ConfigError naming every bad variable.
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

  const protocol = choice(
    env,
    tracesOrGeneral(source, "PROTOCOL"),
    PROTOCOLS,
    "http/protobuf",
    " (grpc is not supported: use the collector's OTLP/HTTP port, 4318)",
  );
  const headers: Record<string, string> = {};
  keyValues(env, "OTEL_EXPORTER_OTLP_HEADERS", headers, true);
  keyValues(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", headers, true);
  const timeoutMs = optionalInt(env, tracesOrGeneral(source, "TIMEOUT"), 1, 600_000);
  const compressionName = tracesOrGeneral(source, "COMPRESSION");
  const compression =
    env.optionalString(compressionName) === undefined
      ? undefined
      : choice(env, compressionName, ["gzip", "none"] as const, "none");
  const tls = {
    ca: file(env, tracesOrGeneral(source, "CERTIFICATE")),
    cert: file(env, tracesOrGeneral(source, "CLIENT_CERTIFICATE")),
    key: file(env, tracesOrGeneral(source, "CLIENT_KEY")),
  };

  const sampler = choice(env, "OTEL_TRACES_SAMPLER", SAMPLERS, "parentbased_always_on");
  const samplerRatio = sampler.endsWith("traceidratio")
    ? env.number("OTEL_TRACES_SAMPLER_ARG", 1, { min: 0, max: 1 })
    : 1;

  const resourceAttributes: Record<string, string> = {};
  keyValues(env, "OTEL_RESOURCE_ATTRIBUTES", resourceAttributes);
  const serviceName = env.string(
    "OTEL_SERVICE_NAME",
    resourceAttributes["service.name"] ?? `sluice-${component}`,
  );

  const batch = {
    scheduledDelayMillis: optionalInt(env, "OTEL_BSP_SCHEDULE_DELAY", 0, 3_600_000),
    exportTimeoutMillis: optionalInt(env, "OTEL_BSP_EXPORT_TIMEOUT", 1, 3_600_000),
    maxQueueSize: optionalInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", 1, 1_000_000),
    maxExportBatchSize: optionalInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 1_000_000),
  };
  const logLevel =
    env.optionalString("OTEL_LOG_LEVEL") === undefined
      ? undefined
      : choice(env, "OTEL_LOG_LEVEL", LOG_LEVELS, "none");

  env.finish();
  return {
    url,
    protocol,
    headers,
    timeoutMs,
    compression,
    tls,
    sampler,
    samplerRatio,
    serviceName,
    resourceAttributes,
    batch,
    logLevel,
  };
}

const DISABLED: Tracer = Object.freeze({
  enabled: false,
  startRequestSpan: () => undefined,
  shutdown: async () => {},
});

/**
 * The tracer for a component (`router`, `activator`, `queue-proxy`), configured by the standard
 * OTEL_* variables of `env`. Off unless an OTLP endpoint is set; then the SDK is loaded here, once.
 * Rejects with a ConfigError naming every bad variable.
 */
export async function createTracer(component: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracer> {
  if (!tracingEnabled(env)) return DISABLED;
  return startSdkTracer(component, loadTracingConfig(component, env));
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
  if (config.logLevel !== undefined) {
    const level = api.DiagLogLevel[config.logLevel.toUpperCase() as keyof typeof api.DiagLogLevel];
    api.diag.setLogger(new api.DiagConsoleLogger(), level);
  }

  const exporter = new exporterModule.OTLPTraceExporter({
    url: config.url,
    headers: config.headers,
    timeoutMillis: config.timeoutMs,
    // Typed as the exporter's CompressionAlgorithm enum, whose values are these strings.
    compression: config.compression as never,
    httpAgentOptions: { keepAlive: true, ...config.tls },
  });
  const ratio = new sdk.TraceIdRatioBasedSampler(config.samplerRatio);
  const samplers: Record<SamplerName, () => Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => ratio,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratio }),
  };
  const resource = resources.defaultResource().merge(
    resources.resourceFromAttributes({
      "host.name": hostname(),
      "process.pid": process.pid,
      ...config.resourceAttributes,
      "service.name": config.serviceName,
    }),
  );
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

  startRequestSpan(
    incoming: string | undefined,
    method: string,
    attributes: Record<string, string | number>,
  ): RequestSpan | undefined {
    const parent = parseTraceparent(incoming);
    if (parent !== undefined && this.#parentDecides && !isSampled(parent.flags)) return undefined;
    const api = this.#api;
    const context: Context =
      parent === undefined
        ? api.ROOT_CONTEXT
        : api.trace.setSpanContext(api.ROOT_CONTEXT, {
            traceId: parent.traceId,
            spanId: parent.spanId,
            traceFlags: parent.flags,
            isRemote: true,
          });
    const known = this.#spanNames.get(method);
    const span = this.#tracer.startSpan(
      known ?? this.#otherName,
      {
        kind: this.#server,
        attributes:
          known === undefined
            ? { ...attributes, "http.request.method": "_OTHER", "http.request.method_original": method }
            : { ...attributes, "http.request.method": method },
      },
      context,
    );
    if (!span.isRecording()) return undefined;
    return new SdkRequestSpan(span, span.spanContext(), this.#error);
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

class SdkRequestSpan implements RequestSpan {
  readonly traceparent: string;
  #span: Span | undefined;
  readonly #error: number;

  constructor(span: Span, context: SpanContext, error: number) {
    this.#span = span;
    this.#error = error;
    this.traceparent = formatTraceparent({
      traceId: context.traceId,
      spanId: context.spanId,
      flags: context.traceFlags,
    });
  }

  end(status: number): void {
    const span = this.#span;
    if (span === undefined) return;
    this.#span = undefined;
    span.setAttribute("http.response.status_code", status);
    if (status >= 500) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: this.#error });
    }
    span.end();
  }
}
