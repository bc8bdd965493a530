// Jaeger and Prometheus beside `sluice up` (--jaeger, --prometheus), and for the tests
// (test/helpers/jaeger.ts, prometheus.ts): where each tool is, its generated config, and a start
// that resolves once the tool answers. Both bind 127.0.0.1 only, on free ports.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { onFreePorts } from "../../common/free-port.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));
/** The recording rules and alerts the chart ships, loaded by a local Prometheus too. */
export const RULES_DIR = join(ROOT, "charts", "sluice", "prometheus");

/** scripts/tools/build.sh's jaeger (SLUICE_JAEGER overrides); undefined when not built. */
export function jaegerPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path =
    env.SLUICE_JAEGER || join(env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice"), "bin", "jaeger");
  return existsSync(path) ? path : undefined;
}

/** Debian's prometheus (or any on PATH; SLUICE_PROMETHEUS overrides); undefined when missing. */
export function prometheusPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLUICE_PROMETHEUS) return existsSync(env.SLUICE_PROMETHEUS) ? env.SLUICE_PROMETHEUS : undefined;
  return onPath("prometheus", env);
}

/** promtool, from the same package as prometheus. */
export function promtoolPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return onPath("promtool", env);
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = [...(env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin"].filter((d) => d !== "");
  return dirs.map((d) => join(d, name)).find((path) => existsSync(path));
}

export interface JaegerPorts {
  /** OTLP/HTTP receiver: components export to http://127.0.0.1:otlp. */
  otlp: number;
  /** Query API (/api/v3/traces, /api/traces) and, in a release build, the UI. */
  query: number;
  /** The query service's gRPC API (unused, but it listens: bound to loopback too). */
  queryGrpc: number;
}

/**
 * Jaeger v2's config: OTLP over HTTP in, in-memory storage, the query API; everything on
 * 127.0.0.1, no telemetry port of its own. (Without a config Jaeger binds 0.0.0.0:16686.)
 */
export function jaegerConfig(ports: JaegerPorts, maxTraces = 100_000): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${maxTraces}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.query}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export interface PrometheusConfigOptions {
  /** The autoscaler's base URL: targets come from its GET /v1/prometheus/targets. */
  autoscalerUrl: string;
  /** SLUICE_TOKEN, when the autoscaler API needs one. */
  token?: string;
  scrapeIntervalSeconds: number;
  /** Rule files to load (default: every file in charts/sluice/prometheus/). */
  ruleFiles?: string[];
}

/** The rule files of charts/sluice/prometheus/, absolute. */
export function sluiceRuleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => join(RULES_DIR, file));
}

/**
 * One scrape job that finds every target through the autoscaler (http_sd_configs). honor_labels:
 * the components' own service/namespace/revision labels win over the discovered ones, which only
 * fill in what a series lacks (a pod's process metrics get its revision and pod that way).
 */
export function prometheusConfig({
  autoscalerUrl,
  token,
  scrapeIntervalSeconds,
  ruleFiles = sluiceRuleFiles(),
}: PrometheusConfigOptions): string {
  const interval = `${scrapeIntervalSeconds}s`;
  // The token for discovery and for the autoscaler's own /metrics (the others ignore it). `type`
  // is spelled out: Prometheus 2.42's http_sd_configs sends the bare credentials without it.
  const authorization = (indent: string) =>
    token
      ? `\n${indent}authorization:\n${indent}  type: Bearer\n${indent}  credentials: ${JSON.stringify(token)}`
      : "";
  const auth = authorization("        ");
  const scrapeAuth = authorization("    ");
  return `global:
  scrape_interval: ${interval}
  evaluation_interval: ${interval}
rule_files:
${ruleFiles.map((file) => `  - ${JSON.stringify(file)}`).join("\n")}
scrape_configs:
  - job_name: sluice
    honor_labels: true
    scrape_interval: ${interval}
    scrape_timeout: ${interval}${scrapeAuth}
    http_sd_configs:
      - url: ${JSON.stringify(`${autoscalerUrl}/v1/prometheus/targets`)}
        refresh_interval: ${interval}${auth}
    # job = the component, as the chart's ServiceMonitor has it (jobLabel): one set of rules for both.
    relabel_configs:
      - source_labels: [component]
        target_label: job
`;
}

export interface RunningTool {
  child: ChildProcess;
  /** Where people (and tests) reach it. */
  url: string;
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

export interface RunningJaeger extends RunningTool {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpUrl: string;
}

/** Starts Jaeger with jaegerConfig() in `workDir`; resolves once its query API and OTLP receiver answer. */
export function startJaeger(binary: string, workDir: string): Promise<RunningJaeger> {
  mkdirSync(workDir, { recursive: true });
  return onFreePorts(3, async ([otlp, query, queryGrpc]) => {
    const config = join(workDir, "jaeger.yaml");
    writeFileSync(config, jaegerConfig({ otlp, query, queryGrpc }));
    const url = `http://127.0.0.1:${query}`;
    const otlpUrl = `http://127.0.0.1:${otlp}`;
    const tool = runTool("jaeger", binary, [`--config=${config}`], url);
    await tool.ready(async () => {
      const answer = await request(`${url}/api/services`);
      await answer.body.dump();
      // The receiver answers any path; a GET on /v1/traces is refused (405) once it listens.
      const receiver = await request(`${otlpUrl}/v1/traces`);
      await receiver.body.dump();
      return answer.statusCode === 200;
    });
    return { ...tool, otlpUrl };
  });
}

/** Starts Prometheus with prometheusConfig() and its storage in `workDir`; resolves once it is ready. */
export function startPrometheus(
  binary: string,
  workDir: string,
  options: PrometheusConfigOptions,
): Promise<RunningTool> {
  mkdirSync(workDir, { recursive: true });
  const config = join(workDir, "prometheus.yml");
  writeFileSync(config, prometheusConfig(options));
  return onFreePorts(1, async ([port]) => {
    const url = `http://127.0.0.1:${port}`;
    const tool = runTool(
      "prometheus",
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(workDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--web.enable-lifecycle",
        "--log.level=warn",
      ],
      url,
    );
    await tool.ready(async () => {
      const res = await request(`${url}/-/ready`);
      await res.body.dump();
      return res.statusCode === 200;
    });
    return tool;
  });
}

/** A tool beside sluice up (Jaeger, Prometheus, nats-server): output kept, stopped with it. */
export function runTool(
  name: string,
  binary: string,
  args: string[],
  url: string,
): RunningTool & { ready(check: () => Promise<boolean>): Promise<void> } {
  // As sluice up's components: the kernel stops the tool when its parent dies, even by SIGKILL.
  const child =
    SETPRIV && process.platform === "linux"
      ? spawn(SETPRIV, ["--pdeathsig", "SIGTERM", "--", binary, ...args], {
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      output += `\n${error.message}`;
      resolve();
    });
  });
  // Its output is whole once its pipes closed, which may come after "exit".
  const closed = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  return {
    child,
    url,
    output: () => output,
    stop: async () => {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
    ready: async (check, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (!running()) {
          // (Bounded: a child the tool forked may hold its pipes open.)
          await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
          throw new Error(`${name} exited before it was ready:\n${output}`);
        }
        if (await check().catch(() => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      child.kill("SIGKILL");
      throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${output}`);
    },
  };
}

/** `sluice up --prometheus --jaeger`: which tools to run beside the data plane. */
export interface ToolChoice {
  prometheus: boolean;
  jaeger: boolean;
  /** sluice up's state directory: configs and Prometheus's storage go in its observability/. */
  stateDir: string;
}

/**
 * The tools `sluice up` runs beside the data plane. Jaeger starts first and points the
 * components at itself (OTEL_EXPORTER_OTLP_ENDPOINT, inherited by every process sluice up starts,
 * pods included); Prometheus starts once the autoscaler, its discovery endpoint, answers. A tool
 * that is not installed is reported with how to get it, and sluice runs without it.
 */
export class ObservabilityTools {
  readonly #choice: ToolChoice;
  readonly #say: (line: string) => void;
  readonly #running: { name: string; tool: RunningTool; hint: string }[] = [];

  constructor(choice: ToolChoice, say: (line: string) => void) {
    this.#choice = choice;
    this.#say = say;
  }

  /** Starts Jaeger (when asked) and sets OTEL_EXPORTER_OTLP_ENDPOINT for what starts next. */
  async beforeComponents(env: NodeJS.ProcessEnv = process.env): Promise<void> {
    if (!this.#choice.jaeger) return;
    const binary = jaegerPath(env);
    if (!binary) {
      this.#say(
        "--jaeger: jaeger is not built; build it with scripts/tools/build.sh jaeger (running without)",
      );
      return;
    }
    const jaeger = await startJaeger(binary, join(this.#choice.stateDir, "observability", "jaeger"));
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT)
      this.#say(
        `--jaeger: OTEL_EXPORTER_OTLP_ENDPOINT was ${env.OTEL_EXPORTER_OTLP_ENDPOINT}; using Jaeger's`,
      );
    env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpUrl;
    this.#running.push({
      name: "jaeger",
      tool: jaeger,
      hint: "traces: /api/v3/traces?query.service_name=sluice-router (the UI, in a release build of Jaeger)",
    });
  }

  /** Starts Prometheus (when asked), scraping what the autoscaler at `autoscalerUrl` lists. */
  async afterAutoscaler(autoscalerUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
    if (!this.#choice.prometheus) return;
    const binary = prometheusPath(env);
    if (!binary) {
      this.#say(
        "--prometheus: prometheus not found; install it with apt-get install prometheus (running without)",
      );
      return;
    }
    const prometheus = await startPrometheus(
      binary,
      join(this.#choice.stateDir, "observability", "prometheus"),
      {
        autoscalerUrl,
        token: env.SLUICE_TOKEN || undefined,
        scrapeIntervalSeconds: 5,
      },
    );
    this.#running.push({
      name: "prometheus",
      tool: prometheus,
      hint: "targets: /targets, rules and alerts: /rules, /alerts (charts/sluice/prometheus/)",
    });
  }

  /** The banner's lines for the tools that run. */
  lines(): string[] {
    return this.#running.map(({ name, tool, hint }) => `  ${name.padEnd(13)} ${tool.url}   (${hint})`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#running.map(({ tool }) => tool.stop()));
  }

  kill(): void {
    for (const { tool } of this.#running) tool.child.kill("SIGKILL");
  }
}
