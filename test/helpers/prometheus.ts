// A real Prometheus for tests: Debian's package (.ci/system-tools.sh installs it), a generated
// config that finds sluice's targets through the autoscaler's GET /v1/prometheus/targets
// (http_sd_configs) and loads charts/sluice/prometheus/'s rules, a free port on 127.0.0.1 and a
// temporary storage directory, all gone when the test ends. query() evaluates PromQL over the
// HTTP API.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import {
  type PrometheusConfigOptions,
  prometheusPath,
  type RunningTool,
  startPrometheus,
} from "../../cli/up/observability-tools.ts";
import { skipUnlessTool } from "./required-tool.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function skipUnlessPrometheus(): string | false {
  return skipUnlessTool(
    "prometheus",
    prometheusPath() !== undefined,
    "apt-get install prometheus (.ci/system-tools.sh)",
  );
}

export interface QueryResult {
  status: "success" | "error";
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] };
}

export interface Prometheus extends RunningTool {
  /** An instant query (GET /api/v1/query); the API's answer, errors included. */
  query(expr: string): Promise<QueryResult>;
  /** The active targets as Prometheus sees them (GET /api/v1/targets). */
  targets(): Promise<
    { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[]
  >;
  /** Rule groups with each rule's health and last error (GET /api/v1/rules). */
  rules(): Promise<
    { name: string; rules: { name: string; health: string; lastError?: string; type: string }[] }[]
  >;
}

export async function startPrometheusForTest(
  t: Teardown,
  options: PrometheusConfigOptions,
): Promise<Prometheus> {
  const binary = prometheusPath();
  if (!binary) throw new Error("prometheus not found: apt-get install prometheus");
  const dir = mkdtempSync(join(tmpdir(), "sluice-prometheus-"));
  const prometheus = await startPrometheus(binary, dir, options);
  t.teardown(async () => {
    await prometheus.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = async (path: string) => {
    const res = await request(`${prometheus.url}${path}`);
    return (await res.body.json()) as { status: string; data: unknown; error?: string; errorType?: string };
  };
  return {
    ...prometheus,
    query: async (expr) => (await get(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as QueryResult,
    targets: async () =>
      ((await get("/api/v1/targets?state=active")).data as { activeTargets: never[] }).activeTargets,
    rules: async () => ((await get("/api/v1/rules")).data as { groups: never[] }).groups,
  };
}
