import { fileURLToPath } from "node:url";
import { request } from "undici";
import type { DataPlaneState } from "../../common/state.ts";
import type { ComponentStatus, StatusSnapshot } from "../../common/status.ts";
import { revokeLease } from "../../platform/local/lease.ts";
import { authHeaders } from "../autoscaler-url.ts";
import { type Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { checkServiceFiles, type ServiceFile } from "../service-files.ts";
import { printBanner } from "../up/banner.ts";
import { messageOf, reasonLines, StartError } from "../up/component.ts";
import { ComponentReporter } from "../up/component-reporter.ts";
import { hopSecretFor } from "../up/hop-secret.ts";
import { formatLogLine } from "../up/log-lines.ts";
import { ObservabilityTools } from "../up/observability-tools.ts";
import { parseUpArgs, UP_USAGE, type UpOptions, UsageError } from "../up/options.ts";
import { Supervisor } from "../up/supervisor.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STOP_TIMEOUT_MS = 15_000;
const INFO = 30;
const WARN = 40;

/** `sluice up`: the whole data plane on this machine, until Ctrl-C. */
export const up: Command = async (args) => {
  let options: UpOptions;
  try {
    options = parseUpArgs(args, ["examples"]);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`sluice up: ${error.message}\n\n${UP_USAGE}`);
    return EXIT_USAGE;
  }
  if (options.help) {
    console.log(UP_USAGE);
    return EXIT_OK;
  }
  const plane = new LocalDataPlane(options);
  const stopping = new Promise<string>((resolve) => {
    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals === 1) {
        plane.markStopping();
        console.log(`\n${signal}: stopping (Ctrl-C again to kill at once)…`);
        resolve(signal);
      } else plane.kill();
    };
    process.on("SIGINT", () => onSignal("SIGINT"));
    process.on("SIGTERM", () => onSignal("SIGTERM"));
  });
  try {
    await plane.start();
  } catch (error) {
    await plane.stop();
    return reportStartFailure(error);
  }
  const failed = plane.watchForFailure();
  const outcome = await Promise.race([stopping.then(() => undefined), failed]);
  if (outcome) console.error(`sluice up: ${outcome}\nsluice up: stopping the rest`);
  await plane.stop();
  console.log("stopped.");
  return outcome ? EXIT_FAILED : EXIT_OK;
};

function reportStartFailure(error: unknown): number {
  if (error instanceof InvalidFiles) {
    console.error(`sluice up: invalid Service files; nothing was started:\n${error.message}`);
    return EXIT_USAGE;
  }
  if (error instanceof StartError) {
    const reasons = reasonLines(error.lines).map(messageOf);
    console.error(
      `sluice up: ${error.message}:\n  ${(reasons.length > 0 ? reasons : error.lines.map(messageOf)).join("\n  ")}`,
    );
    if (reasons.some((reason) => reason.includes("already in use")))
      console.error("Choose other ports with --router-port / --autoscaler-port (0 picks a free one).");
    return EXIT_FAILED;
  }
  console.error(`sluice up: ${(error as Error).message}`);
  return EXIT_FAILED;
}

class InvalidFiles extends Error {}

/** The autoscaler (with its local platform), activator and router processes of one `sluice up`. */
class LocalDataPlane {
  readonly #options: UpOptions;
  readonly #components: Supervisor[] = [];
  /** Tells the autoscaler of every start, death and restart, once it runs. */
  #reporter: ComponentReporter | undefined;
  #hopSecret = "";
  #stopping = false;
  /** Prometheus and Jaeger beside the data plane (--prometheus, --jaeger). */
  #tools: ObservabilityTools | undefined;

  constructor(options: UpOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const options = this.#options;
    const files = checkFiles(options.files);
    this.#hopSecret = hopSecretFor(options.stateDir ?? ".sluice");
    this.#tools = new ObservabilityTools(
      { prometheus: options.prometheus, jaeger: options.jaeger, stateDir: options.stateDir ?? ".sluice" },
      (line) => console.error(`sluice up: ${line}`),
    );
    await this.#tools.beforeComponents();
    // The first run restores nothing: the state directory may hold services of earlier runs, which
    // stay in the history, inactive, instead of getting pods nobody asked for today. A restarted
    // autoscaler (default AUTOSCALER_RESTORE=active) brings back what this run applied and adopts
    // the pods its previous run left, so the same environment is all a restart needs.
    const autoscaler = await this.#start(
      "autoscaler",
      "autoscaler/main.ts",
      {
        AUTOSCALER_PORT: String(options.autoscalerPort),
        ...(options.domain ? { SLUICE_DOMAIN: options.domain } : {}),
        ...(options.stateDir ? { SLUICE_STATE_DIR: options.stateDir } : {}),
        ...(options.maxPods !== undefined ? { SLUICE_LOCAL_MAX_PODS: String(options.maxPods) } : {}),
      },
      { port: "AUTOSCALER_PORT" },
      { AUTOSCALER_RESTORE: "none" },
    );
    const autoscalerUrl = `http://127.0.0.1:${autoscaler.ports.port}`;
    this.#reporter = new ComponentReporter({
      autoscalerUrl,
      components: () => this.components(),
      headers: authHeaders(),
    });
    if (this.#stopping) this.#reporter.close();
    this.#reporter.changed();
    await applyFiles(autoscalerUrl, files);
    await this.#tools.afterAutoscaler(autoscalerUrl);
    const activator = await this.#start(
      "activator",
      "activator/main.ts",
      {
        ACTIVATOR_PORT: "0",
        ACTIVATOR_ADMIN_PORT: "0",
        AUTOSCALER_URL: autoscalerUrl,
        ACTIVATOR_DRAIN_TIMEOUT_SECONDS: "5",
      },
      { port: "ACTIVATOR_PORT", adminPort: "ACTIVATOR_ADMIN_PORT" },
    );
    const router = await this.#start(
      "router",
      "router/main.ts",
      {
        ROUTER_PORT: String(options.routerPort),
        ROUTER_ADMIN_PORT: "0",
        AUTOSCALER_URL: autoscalerUrl,
        ACTIVATOR_URL: `http://127.0.0.1:${activator.ports.port}`,
        ROUTER_DRAIN_TIMEOUT_SECONDS: "5",
      },
      { port: "ROUTER_PORT", adminPort: "ROUTER_ADMIN_PORT", tlsPort: "ROUTER_TLS_PORT" },
    );
    await waitUntilReady(`http://127.0.0.1:${router.ports.adminPort}/readyz`);
    const state = (await (
      await request(`${autoscalerUrl}/v1/state`, { headers: authHeaders() })
    ).body.json()) as DataPlaneState;
    const status = (await (
      await request(`${autoscalerUrl}/v1/status`, { headers: authHeaders() })
    ).body.json()) as StatusSnapshot;
    for (const line of this.#tools.lines()) console.log(line);
    printBanner({
      files: files.map((f) => f.file),
      autoscalerUrl,
      activatorUrl: `http://127.0.0.1:${activator.ports.port}`,
      routerUrl: `http://127.0.0.1:${router.ports.port}`,
      state,
      inactive: status.services
        .filter((service) => !service.active)
        .map((service) =>
          service.namespace === "default" ? service.name : `${service.namespace}/${service.name}`,
        ),
      token: process.env.SLUICE_TOKEN || undefined,
    });
  }

  async #start(
    name: string,
    entry: string,
    env: Record<string, string>,
    portVariables: Record<string, string>,
    firstRunEnv?: Record<string, string>,
  ): Promise<Supervisor> {
    const minLevel = this.#options.verbose || name === "autoscaler" ? INFO : WARN;
    const print = (text: string | undefined) => {
      if (text !== undefined) console.log(text);
    };
    const say = (message: string) => print(formatLogLine("sluice up", message, { minLevel: INFO }));
    const component = await Supervisor.start({
      name,
      entry: `${ROOT}${entry}`,
      // One hop secret per installation, so that each hop believes internal headers only from the others.
      env: { SLUICE_HOP_SECRET: this.#hopSecret, ...env },
      firstRunEnv,
      portVariables,
      onLine: (line) => print(formatLogLine(name, line, { minLevel })),
      onEvent: say,
      onChange: () => this.#reporter?.changed(),
    });
    this.#components.push(component);
    this.#reporter?.changed();
    if (this.#stopping) component.noMoreRestarts();
    if (this.#options.verbose) say(`${name} started (pid ${component.status().pid})`);
    return component;
  }

  /** Each component's state, restarts and last exit (reported to the autoscaler for the status page). */
  components(): ComponentStatus[] {
    return this.#components.map((component) => component.status());
  }

  /** Resolves with a message once a component keeps dying (the supervisors restart the others). */
  watchForFailure(): Promise<string> {
    return Promise.race(this.#components.map((component) => component.gaveUp));
  }

  /** From the first signal on, a component that exits is not restarted (Ctrl-C reaches them too). */
  markStopping(): void {
    this.#stopping = true;
    this.#reporter?.close();
    for (const component of this.#components) component.noMoreRestarts();
  }

  /**
   * SIGTERM to each in reverse start order, waiting for each: the router and activator drain
   * while the autoscaler still answers, then the autoscaler stops its pods. SIGKILL after a bound.
   */
  async stop(): Promise<void> {
    this.markStopping();
    const timer = setTimeout(() => this.kill(), STOP_TIMEOUT_MS);
    for (const component of [...this.#components].reverse()) await component.stop();
    await this.#tools?.stop();
    clearTimeout(timer);
  }

  /** A forced stop: kills the components, and revokes the pods' lease so they stop too. */
  kill(): void {
    for (const component of this.#components) component.kill();
    this.#tools?.kill();
    revokeLease(this.#options.stateDir ?? ".sluice");
  }
}

/** Checks every file offline first (nothing starts on a bad one), then applies them in order. */
function checkFiles(paths: string[]): ServiceFile[] {
  const { files, problems } = checkServiceFiles(paths);
  if (problems.length > 0) throw new InvalidFiles(problems.map((p) => `  ${p}`).join("\n"));
  return files;
}

async function applyFiles(autoscalerUrl: string, files: ServiceFile[]): Promise<void> {
  for (const { file, text } of files) {
    const res = await request(`${autoscalerUrl}/v1/services?file=${encodeURIComponent(file)}`, {
      method: "PUT",
      body: text,
      headers: { accept: "application/json", "content-type": "application/yaml", ...authHeaders() },
    });
    const result = (await res.body.json()) as { ok: boolean; problems: string[] };
    if (!result.ok) throw new InvalidFiles(result.problems.map((p) => `  ${p}`).join("\n"));
  }
}

async function waitUntilReady(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await request(url).catch(() => undefined);
    await res?.body.dump();
    if (res?.statusCode === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not ready within ${timeoutMs / 1000} s: ${url}`);
}
