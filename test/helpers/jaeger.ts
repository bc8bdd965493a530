// A real Jaeger v2 for tests: scripts/tools/build.sh's binary with a generated config that binds
// 127.0.0.1 only (OTLP/HTTP in, in-memory storage, the query API), on free ports, stopped when
// the test ends. Traces are read back through the query API's /api/v3/traces.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { jaegerPath, type RunningJaeger, startJaeger } from "../../cli/up/observability-tools.ts";
import { skipUnlessTool } from "./required-tool.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The `skip` option for a test needing Jaeger (fails under CI=true, as required-tool.ts does). */
export function skipUnlessJaeger(): string | false {
  return skipUnlessTool("jaeger", jaegerPath() !== undefined, "scripts/tools/build.sh jaeger");
}

/** One span as /api/v3/traces returns it (OTLP JSON: ids in hex here, times in ns as strings). */
export interface JaegerSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
  /** The resource's service.name, filled in by spansOf. */
  service: string;
}

export interface Jaeger extends RunningJaeger {
  /** Every span of the service's traces that started at `since` (ms since the epoch) or later, flattened. */
  spans(service: string, since: number): Promise<JaegerSpan[]>;
  /** The spans of one trace (empty when Jaeger has none by that id). */
  trace(traceId: string): Promise<JaegerSpan[]>;
}

export async function startJaegerForTest(t: Teardown): Promise<Jaeger> {
  const binary = jaegerPath();
  if (!binary) throw new Error("jaeger is not built: scripts/tools/build.sh jaeger");
  const dir = mkdtempSync(join(tmpdir(), "sluice-jaeger-"));
  const jaeger = await startJaeger(binary, dir);
  t.teardown(async () => {
    await jaeger.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    ...jaeger,
    spans: async (service, since) => {
      const query = new URLSearchParams({
        "query.service_name": service,
        "query.start_time_min": new Date(since).toISOString(),
        "query.start_time_max": new Date(Date.now() + 60_000).toISOString(),
        "query.num_traces": "10000",
      });
      const res = await request(`${jaeger.url}/api/v3/traces?${query}`);
      const body = await res.body.text();
      if (res.statusCode === 404) return []; // "trace not found": none yet
      if (res.statusCode !== 200) throw new Error(`jaeger /api/v3/traces: ${res.statusCode} ${body}`);
      return spansOf(JSON.parse(body));
    },
    trace: async (traceId) => {
      const res = await request(`${jaeger.url}/api/v3/traces/${traceId}`);
      const body = await res.body.text();
      if (res.statusCode === 404) return [];
      if (res.statusCode !== 200)
        throw new Error(`jaeger /api/v3/traces/${traceId}: ${res.statusCode} ${body}`);
      return spansOf(JSON.parse(body));
    },
  };
}

interface OtlpTraces {
  result?: {
    resourceSpans?: {
      resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
      scopeSpans?: { spans?: Omit<JaegerSpan, "service">[] }[];
    }[];
  };
}

/** Flattens the API's OTLP JSON to spans, each with its resource's service.name. */
export function spansOf(body: OtlpTraces): JaegerSpan[] {
  const spans: JaegerSpan[] = [];
  for (const resourceSpans of body.result?.resourceSpans ?? []) {
    const service =
      resourceSpans.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) spans.push({ ...span, service });
    }
  }
  return spans;
}

/** A span attribute's value as a string (string, int or bool), or undefined. */
export function attribute(span: JaegerSpan, key: string): string | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  const v = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
  return v === undefined ? undefined : String(v);
}
