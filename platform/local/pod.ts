import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../../common/free-port.ts";
import type { Logger } from "../../common/log.ts";
import type { PodPhase, PodStatus, PodTemplate } from "../platform.ts";
import { LogTail } from "./log-tail.ts";
import type { PodOutput } from "./pod-logs.ts";
import { spawnChild } from "./spawn-child.ts";

const QUEUE_PROXY_MAIN = fileURLToPath(new URL("../../queue-proxy/main.ts", import.meta.url));
/** After SIGTERM, how long a process may take before SIGKILL (beyond the queue-proxy's drain). */
const KILL_GRACE_MS = 10_000;

export interface PodOptions {
  log: Logger;
  /** How long the queue-proxy waits without new requests before closing when drained. */
  drainQuietSeconds: number;
  onPhase: (pod: LocalPod) => void;
  /** Where the app's stdout and stderr go (sluice logs, failure reports). */
  output: PodOutput;
}

function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * One local pod: the app process on a free loopback port, and its own queue-proxy in front.
 * The queue-proxy reports its ports and the app's readiness over IPC.
 */
export class LocalPod {
  readonly name: string;
  readonly template: PodTemplate;
  readonly startedAt = Date.now();
  phase: PodPhase = "starting";
  everReady = false;
  url: string | undefined;
  adminUrl: string | undefined;
  /** Why the pod ended, when it crashed. */
  exitReason: string | undefined;
  /** The app's output, line by line. */
  readonly output: PodOutput;
  #app: ChildProcess | undefined;
  #queueProxy: ChildProcess | undefined;
  readonly #options: PodOptions;
  readonly #log: Logger;

  constructor(template: PodTemplate, name: string, options: PodOptions) {
    this.template = template;
    this.name = name;
    this.#options = options;
    this.output = options.output;
    this.#log = options.log.child({ pod: name, revision: template.revision });
  }

  status(restarts: number): PodStatus {
    return {
      name: this.name,
      phase: this.phase,
      url: this.url,
      adminUrl: this.adminUrl,
      restarts,
      startedAt: this.startedAt,
      pids: { app: this.#app?.pid, queueProxy: this.#queueProxy?.pid },
    };
  }

  async start(): Promise<void> {
    const { template } = this;
    const appPort = await freePort();
    if (this.phase !== "starting") return; // stopped while we waited for a port
    const [command, ...commandArgs] = template.command;
    const app = spawnChild(command, [...commandArgs, ...template.args], {
      cwd: template.workingDir,
      env: {
        ...process.env,
        ...template.env,
        PORT: String(appPort),
        K_SERVICE: template.service,
        K_CONFIGURATION: template.configuration,
        K_REVISION: template.revision,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#app = app;
    const onOutput = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      this.output.write(stream, chunk);
      this.#log.debug({ output: chunk.toString().trimEnd() }, "app output");
    };
    app.stdout?.on("data", onOutput("stdout"));
    app.stderr?.on("data", onOutput("stderr"));
    app.once("close", () => this.output.end());
    app.once("error", (error) => {
      this.output.end();
      this.#crashed(`cannot start ${command}: ${error.message}`);
    });
    app.once("exit", (code, signal) => this.#crashed(`app exited with ${signal ?? `code ${code}`}`));

    const queueProxy = spawnChild(process.execPath, [QUEUE_PROXY_MAIN], {
      env: {
        ...process.env,
        USER_PORT: String(appPort),
        USER_PROTOCOL: template.protocol,
        CONTAINER_CONCURRENCY: String(template.containerConcurrency),
        REVISION_TIMEOUT_SECONDS: String(template.timeoutSeconds),
        REVISION_RESPONSE_START_TIMEOUT_SECONDS: String(template.responseStartTimeoutSeconds ?? 0),
        REVISION_IDLE_TIMEOUT_SECONDS: String(template.idleTimeoutSeconds ?? 0),
        SERVING_READINESS_PROBE: template.readinessProbe ? JSON.stringify(template.readinessProbe) : "",
        QUEUE_SERVING_PORT: "0",
        QUEUE_ADMIN_PORT: "0",
        QUEUE_METRICS_PORT: "-1",
        QUEUE_DRAIN_QUIET_SECONDS: String(this.#options.drainQuietSeconds),
        SERVING_SERVICE: template.service,
        SERVING_NAMESPACE: template.namespace,
        SERVING_CONFIGURATION: template.configuration,
        SERVING_REVISION: template.revision,
        SERVING_POD: this.name,
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    this.#queueProxy = queueProxy;
    const queueProxyLogs = new LogTail(10);
    queueProxy.stdout?.on("data", (chunk: Buffer) => queueProxyLogs.push(chunk));
    queueProxy.stderr?.on("data", (chunk: Buffer) => queueProxyLogs.push(chunk));
    queueProxy.on(
      "message",
      (message: { type?: string; servingPort?: number; adminPort?: number; ready?: boolean }) => {
        if (message.type === "listening") {
          this.url = `http://127.0.0.1:${message.servingPort}`;
          this.adminUrl = `http://127.0.0.1:${message.adminPort}`;
        } else if (message.type === "ready" && this.phase !== "terminating" && this.phase !== "crashed") {
          if (message.ready) this.everReady = true;
          this.#setPhase(message.ready ? "ready" : "not-ready");
        }
      },
    );
    queueProxy.once("exit", (code, signal) =>
      this.#crashed(
        `queue-proxy exited with ${signal ?? `code ${code}`}: ${queueProxyLogs.lines().slice(-3).join(" | ")}`,
      ),
    );
  }

  #setPhase(phase: PodPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.#log.debug({ phase }, "pod phase");
    this.#options.onPhase(this);
  }

  #crashed(reason: string): void {
    if (this.phase === "terminating" || this.phase === "crashed") return;
    this.exitReason = reason;
    this.#log.warn({ reason, lastOutput: this.output.lastText(5) }, "pod crashed");
    this.#setPhase("crashed");
    // Take the other process down too; the platform decides whether to start a new pod.
    this.#queueProxy?.kill("SIGKILL");
    this.#app?.kill("SIGKILL");
  }

  /** Drains: the queue-proxy first (it finishes what it holds), then the app. */
  async stop(): Promise<void> {
    if (this.phase !== "crashed") this.#setPhase("terminating");
    const queueProxy = this.#queueProxy;
    const app = this.#app;
    if (queueProxy) {
      queueProxy.kill("SIGTERM");
      await waitForExit(queueProxy, (this.template.timeoutSeconds + 30) * 1000 + KILL_GRACE_MS);
    }
    if (app) {
      app.kill("SIGTERM");
      await waitForExit(app, KILL_GRACE_MS);
    } else {
      this.output.end(); // never started: its output ends here (otherwise when the app's pipes close)
    }
  }
}
