import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { freePorts } from "../../common/free-port.ts";
import type { DataPlaneState } from "../../common/state.ts";
import type { ComponentStatus, StatusSnapshot } from "../../common/status.ts";
import { revokeLease } from "../../platform/local/lease.ts";
import { authHeaders } from "../autoscaler-url.ts";
import { type Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.ts";
import { type CheckedEventing, checkEventing, splitFiles } from "../eventing-files.ts";
import { checkServices, readServiceFiles, type ServiceFile } from "../service-files.ts";
import { type EventingFacts, printBanner } from "../up/banner.ts";
import { messageOf, reasonLines, StartError } from "../up/component.ts";
import { ComponentReporter } from "../up/component-reporter.ts";
import { hopSecretFor } from "../up/hop-secret.ts";
import { type KafkaPlan, planKafka, pointKafkaSourcesAt, type RunningKafka } from "../up/kafka-server.ts";
import { formatLogLine } from "../up/log-lines.ts";
import { NATS_MISSING, natsServerPath, type RunningNats, startNatsServer } from "../up/nats-server.ts";
import { ObservabilityTools } from "../up/observability-tools.ts";
import { parseUpArgs, UP_USAGE, type UpOptions, UsageError } from "../up/options.ts";
import { writeSinkBindings } from "../up/sink-bindings.ts";
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
  /** The nats-server sluice up started for Eventing (not with --nats). */
  #nats: RunningNats | undefined;
  #eventingAdminPort = 0;
  /** The Kafka sluice up started for local KafkaSources (not with --kafka). */
  #kafka: RunningKafka | undefined;

  constructor(options: UpOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const options = this.#options;
    const { services: files, eventing } = checkFiles(options.files);
    const stateDir = options.stateDir ?? ".sluice";
    this.#hopSecret = hopSecretFor(stateDir);
    // Chosen now, not by the eventing process: the pods' K_SINK names the Broker ingress, and the
    // pods' environment is settled when the autoscaler takes the Services.
    // Held together (freePorts), so that the three differ; another process may still take one
    // before it is bound, as with any port found free.
    const [ingressFree, adminFree, routerFree] = eventing ? await freePorts(3) : [0, 0, 0];
    const eventingPort = eventing ? options.eventingPort || ingressFree : 0;
    // The autoscaler lists eventing's status from its admin port (SLUICE_EVENTING_ADMIN_URL).
    this.#eventingAdminPort = adminFree;
    const routerPort = options.routerPort || routerFree;
    // Spawned now, awaited before eventing starts: a JVM start overlaps the others'.
    const kafka = eventing
      ? await planKafka(
          options.kafka,
          eventing.loaded.sources.map((s) => s.manifest),
          join(stateDir, "eventing", "kafka"),
        )
      : undefined;
    this.#kafka = kafka?.started;
    this.#tools = new ObservabilityTools(
      { prometheus: options.prometheus, jaeger: options.jaeger, stateDir: options.stateDir ?? ".sluice" },
      (line) => console.error(`sluice up: ${line}`),
    );
    await this.#tools.beforeComponents();
    // The first run restores nothing: the state directory may hold services of earlier runs, which
    // stay in the history, inactive, instead of getting pods nobody asked for today. A restarted
    // autoscaler (default AUTOSCALER_RESTORE=active) brings back what this run applied and adopts
    // the pods its previous run left, so the same environment is all a restart needs.
    writeSinkBindings(stateDir, eventing?.loaded.sinkBindings.map((b) => b.manifest) ?? [], {
      routerUrl: `http://127.0.0.1:${routerPort}`,
      domain: options.domain ?? "example.com",
      brokerIngressUrl: `http://127.0.0.1:${eventingPort}`,
    });
    const autoscaler = await this.#start(
      "autoscaler",
      "autoscaler/main.ts",
      {
        AUTOSCALER_PORT: String(options.autoscalerPort),
        ...(options.domain ? { SLUICE_DOMAIN: options.domain } : {}),
        ...(options.stateDir ? { SLUICE_STATE_DIR: options.stateDir } : {}),
        ...(options.maxPods !== undefined ? { SLUICE_LOCAL_MAX_PODS: String(options.maxPods) } : {}),
        ...(eventing ? { SLUICE_EVENTING_ADMIN_URL: `http://127.0.0.1:${this.#eventingAdminPort}` } : {}),
        // Pods inherit it (the local platform passes its environment on): see kafka-server.ts.
        ...(kafka ? { KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap } : {}),
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
        ROUTER_PORT: String(routerPort),
        ROUTER_ADMIN_PORT: "0",
        AUTOSCALER_URL: autoscalerUrl,
        ACTIVATOR_URL: `http://127.0.0.1:${activator.ports.port}`,
        ROUTER_DRAIN_TIMEOUT_SECONDS: "5",
      },
      { port: "ROUTER_PORT", adminPort: "ROUTER_ADMIN_PORT", tlsPort: "ROUTER_TLS_PORT" },
    );
    await waitUntilReady(`http://127.0.0.1:${router.ports.adminPort}/readyz`);
    const routerUrl = `http://127.0.0.1:${router.ports.port}`;
    const eventingFacts = eventing
      ? await this.#startEventing(eventing, eventingPort, routerUrl, stateDir, kafka)
      : undefined;
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
      routerUrl,
      eventing: eventingFacts,
      state,
      inactive: status.services
        .filter((service) => !service.active)
        .map((service) =>
          service.namespace === "default" ? service.name : `${service.namespace}/${service.name}`,
        ),
      token: process.env.SLUICE_TOKEN || undefined,
    });
  }

  /**
   * nats-server (or --nats) and the eventing component, on the router. The first run reads the
   * user's files; sluice up copies their Eventing documents to the state directory, which the
   * component rewrites on every `sluice apply` (EVENTING_APPLIED_FILE), so a restart serves what
   * was applied, not what the files said.
   */
  async #startEventing(
    eventing: CheckedEventing & { files: ServiceFile[] },
    port: number,
    routerUrl: string,
    stateDir: string,
    kafka: KafkaPlan | undefined,
  ): Promise<EventingFacts> {
    await kafka?.ready;
    let natsUrl = this.#options.natsUrl;
    if (natsUrl === undefined) {
      const binary = natsServerPath();
      if (binary === undefined) throw new Error(NATS_MISSING);
      const nats = await startNatsServer(binary, join(stateDir, "eventing", "nats"));
      this.#nats = nats;
      natsUrl = nats.natsUrl;
    }
    const appliedFile = join(stateDir, "eventing", "resources.yaml");
    mkdirSync(join(stateDir, "eventing"), { recursive: true });
    writeFileSync(
      appliedFile,
      eventing.files
        .map(
          ({ file, text }) => `# from ${file}\n${kafka ? pointKafkaSourcesAt(text, kafka.bootstrap) : text}`,
        )
        .join("\n---\n"),
    );
    const component = await this.#start(
      "eventing",
      "eventing/main.ts",
      {
        EVENTING_PORT: String(port),
        EVENTING_ADMIN_PORT: String(this.#eventingAdminPort),
        EVENTING_WEBHOOK_PORT: "0",
        NATS_URL: natsUrl,
        SLUICE_ROUTER_URL: routerUrl,
        ...(this.#options.domain ? { SLUICE_DOMAIN: this.#options.domain } : {}),
        EVENTING_FILES: appliedFile,
        EVENTING_APPLIED_FILE: appliedFile,
      },
      { port: "EVENTING_PORT", adminPort: "EVENTING_ADMIN_PORT", webhookPort: "EVENTING_WEBHOOK_PORT" },
      // With a Kafka of sluice up's, the first run reads the copy too: it has that Kafka's address.
      kafka ? undefined : { EVENTING_FILES: eventing.files.map((f) => f.file).join(",") },
    );
    const ingressUrl = `http://127.0.0.1:${component.ports.port}`;
    return {
      ingressUrl,
      adminUrl: `http://127.0.0.1:${component.ports.adminPort}`,
      natsUrl,
      ...(kafka ? { kafka: { bootstrap: kafka.bootstrap, origin: kafka.origin } } : {}),
      brokers: eventing.loaded.brokers.map(({ manifest }) => ({
        name: `${manifest.metadata.namespace ?? "default"}/${manifest.metadata.name}`,
        url: `${ingressUrl}/${manifest.metadata.namespace ?? "default"}/${manifest.metadata.name}`,
      })),
      ...(component.ports.webhookPort
        ? { webhookUrl: `http://127.0.0.1:${component.ports.webhookPort}` }
        : {}),
    };
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
    await this.#nats?.stop();
    await this.#kafka?.stop();
    await this.#tools?.stop();
    clearTimeout(timer);
  }

  /** A forced stop: kills the components, and revokes the pods' lease so they stop too. */
  kill(): void {
    for (const component of this.#components) component.kill();
    this.#tools?.kill();
    this.#nats?.child.kill("SIGKILL");
    this.#kafka?.child.kill("SIGKILL");
    revokeLease(this.#options.stateDir ?? ".sluice");
  }
}

/**
 * Checks every file offline first (nothing starts on a bad one): the Services, and the Eventing
 * resources among them with eventing's loader (each Trigger's Broker must be in the files).
 */
function checkFiles(paths: string[]): {
  services: ServiceFile[];
  eventing: (CheckedEventing & { files: ServiceFile[] }) | undefined;
} {
  const { files, problems: unreadable } = readServiceFiles(paths);
  const split = splitFiles(files);
  const services = checkServices(split.services);
  const eventing =
    split.eventing.length > 0
      ? { ...checkEventing(split.eventing, new Set()), files: split.eventing }
      : undefined;
  const problems = [
    ...unreadable.map((p) => `${p.file}: ${p.message}`),
    ...services.problems,
    ...(eventing?.problems ?? []),
  ];
  if (problems.length > 0) throw new InvalidFiles(problems.map((p) => `  ${p}`).join("\n"));
  return { services: split.services, eventing };
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
