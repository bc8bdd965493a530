import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePorts } from "../../common/free-port.ts";
import { unixSocketPathProblem } from "../../common/http/listen.ts";
import type { Logger } from "../../common/log.ts";
import type { PodPhase, PodStatus, PodTemplate } from "../platform.ts";
import { cpuDemandMs } from "./cpu-demand.ts";
import { FileFollower } from "./file-follower.ts";
import { LogTail } from "./log-tail.ts";
import type { PodOutput } from "./pod-logs.ts";
import { afterProbe } from "./pod-phase.ts";
import type { PodRecord, PodRegistry } from "./pod-registry.ts";
import { identify, processState, signalProcess, waitGone } from "./process-identity.ts";
import { queueProxyReady } from "./queue-proxy-readiness.ts";
import { spawnPodProcess } from "./spawn-pod-process.ts";
import { StartLoad } from "./start-load.ts";

const QUEUE_PROXY_MAIN = fileURLToPath(new URL("../../queue-proxy/main.ts", import.meta.url));
const POD_GUARD = pathToFileURL(fileURLToPath(new URL("./pod-guard.ts", import.meta.url))).href;
/** After SIGTERM, how long a process may take before SIGKILL (beyond the queue-proxy's drain). */
const KILL_GRACE_MS = 10_000;
/** Readiness polls of the queue-proxy: often until the pod is first ready (cold starts), then calmly. */
const STARTUP_POLL_MS = 50;
/** Until ready, each poll is a long poll this long: the queue-proxy answers when the app is ready. */
const STARTUP_WAIT_MS = 1000;
const POLL_MS = 1000;

export interface PodOptions {
  log: Logger;
  /** How long the queue-proxy waits without new requests before closing when drained. */
  drainQuietSeconds: number;
  onPhase: (pod: LocalPod) => void;
  /** Where the app's stdout and stderr go (sluice logs, failure reports). */
  output: PodOutput;
  /** Where the pod is recorded, so that a restarted platform can adopt it. */
  registry: PodRegistry;
  /** A pod stops itself once the platform's lease has lapsed this long (pod-guard.ts). */
  orphanGraceSeconds: number;
}

function podFiles(dir: string) {
  return {
    stdout: join(dir, "app.stdout"),
    stderr: join(dir, "app.stderr"),
    queueProxy: join(dir, "queue-proxy.log"),
  };
}

/**
 * The queue-proxy's Unix socket in the pod's directory, for the router and activator on this
 * machine; none when the path is too long for a socket (a deep state directory): TCP serves alone.
 */
function servingSocketIn(podDir: string): string | undefined {
  const path = join(podDir, "queue-proxy.sock");
  return unixSocketPathProblem(path) === undefined ? path : undefined;
}

/** The last lines of a file (the queue-proxy's log), for a crash report. */
function lastLines(path: string, count: number): string[] {
  const tail = new LogTail(count);
  try {
    const fd = openSync(path, "r");
    try {
      const size = statSync(path).size;
      const buffer = Buffer.alloc(Math.min(size, 8192));
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      tail.push(buffer);
    } finally {
      closeSync(fd);
    }
  } catch {
    // no log (yet)
  }
  return tail.lines();
}

/**
 * One local pod: the app process on a free loopback port, and its own queue-proxy in front. Both
 * run in their own process groups with their output in files, so they outlive the platform: a
 * restarted platform adopts the pod from its record. Readiness comes from polling the
 * queue-proxy's /readyz; exits from the processes' exit events (or, for an adopted pod that is not
 * our child, from polling its pids).
 */
export class LocalPod {
  readonly name: string;
  readonly template: PodTemplate;
  readonly startedAt: number;
  phase: PodPhase = "starting";
  everReady = false;
  url: string | undefined;
  /** The queue-proxy's Unix socket, beside `url`. */
  socket: string | undefined;
  adminUrl: string | undefined;
  /** Why the pod ended, when it crashed. */
  exitReason: string | undefined;
  /** The app's output, line by line. */
  readonly output: PodOutput;
  readonly #options: PodOptions;
  readonly #log: Logger;
  #record: PodRecord | undefined;
  /** Our own children report their exits; adopted pods' pids are polled instead. */
  #children = false;
  #unanswered = 0;
  #followers: FileFollower[] = [];
  #outputEnded = false;
  #pollTimer: NodeJS.Timeout | undefined;
  readonly #load: StartLoad;

  constructor(template: PodTemplate, name: string, options: PodOptions, startedAt = Date.now()) {
    this.template = template;
    this.name = name;
    this.startedAt = startedAt;
    this.#load = new StartLoad(startedAt);
    this.#options = options;
    this.output = options.output;
    this.#log = options.log.child({ pod: name, namespace: template.namespace, revision: template.revision });
  }

  /** Takes over a pod a previous platform started, from its record; `ready` is its /readyz now. */
  static adopt(template: PodTemplate, record: PodRecord, options: PodOptions, ready: boolean): LocalPod {
    const pod = new LocalPod(template, record.name, options, record.startedAt);
    pod.#record = record;
    pod.everReady = ready || record.readyAt !== undefined;
    pod.phase = ready ? "ready" : pod.everReady ? "not-ready" : "starting";
    pod.url = `http://127.0.0.1:${record.servingPort}`;
    pod.socket = record.servingSocket;
    pod.adminUrl = `http://127.0.0.1:${record.adminPort}`;
    pod.#follow(podFiles(options.registry.podDir(record)));
    pod.#schedulePoll();
    pod.#log.info({ phase: pod.phase, pids: pod.status(0).pids }, "adopted pod");
    return pod;
  }

  status(restarts: number): PodStatus {
    return {
      name: this.name,
      phase: this.phase,
      url: this.url,
      ...(this.socket === undefined ? {} : { socket: this.socket }),
      adminUrl: this.adminUrl,
      restarts,
      startedAt: this.startedAt,
      pids: { app: this.#record?.app.pid, queueProxy: this.#record?.queueProxy?.pid },
    };
  }

  /**
   * Whether this starting pod is busy loading (start-load.ts): its app (with its descendants) and
   * queue-proxy ran or waited to run over the last window, or are not both running yet. Only such
   * a pod holds a start slot.
   */
  loading(now: number): boolean {
    const app = this.#record?.app;
    const queueProxy = this.#record?.queueProxy;
    if (app === undefined || queueProxy === undefined) return this.#load.loading(now, undefined);
    if (processState(app) !== "same" || processState(queueProxy) !== "same")
      return this.#load.loading(now, undefined);
    const appMs = cpuDemandMs(app.pid);
    const queueProxyMs = cpuDemandMs(queueProxy.pid);
    return this.#load.loading(
      now,
      appMs === undefined || queueProxyMs === undefined ? undefined : appMs + queueProxyMs,
    );
  }

  /** When loading() has a new verdict (ms since the epoch). */
  get nextLoadLookAt(): number {
    return this.#load.nextLookAt;
  }

  /** Reads the app's output written so far (before a failure report quotes it). */
  readOutput(): void {
    for (const follower of this.#followers) follower.read();
  }

  async start(): Promise<void> {
    try {
      await this.#spawn();
    } catch (error) {
      this.#crashed(`cannot start the pod: ${(error as Error).message}`);
    }
  }

  async #spawn(): Promise<void> {
    const { template } = this;
    const [appPort, servingPort, adminPort] = await freePorts(3);
    if (this.phase !== "starting") return; // stopped while we waited for ports
    const podDir = this.#options.registry.podDir({ namespace: template.namespace, name: this.name });
    const files = podFiles(podDir);
    const servingSocket = servingSocketIn(podDir);
    if (servingSocket === undefined)
      this.#log.info(
        { podDir },
        "the pod's directory is too deep for a Unix socket: its queue-proxy is reached on its port alone",
      );
    this.#children = true;
    const [command, ...commandArgs] = template.command;
    const app = spawnPodProcess(command, [...commandArgs, ...template.args], {
      cwd: template.workingDir,
      env: {
        ...process.env,
        ...template.env,
        PORT: String(appPort),
        K_SERVICE: template.service,
        K_CONFIGURATION: template.configuration,
        K_REVISION: template.revision,
        SLUICE_HOP_SECRET: undefined, // the data plane's, never the app's
      },
      stdout: files.stdout,
      stderr: files.stderr,
    });
    this.#follow(files);
    app.once("error", (error) => this.#crashed(`cannot start ${command}: ${error.message}`));
    if (app.pid === undefined) return; // the error event says why
    app.once("exit", (code, signal) => this.#crashed(`app exited with ${signal ?? `code ${code}`}`));
    const record: PodRecord = {
      name: this.name,
      namespace: template.namespace,
      service: template.service,
      revision: template.revision,
      startedAt: this.startedAt,
      appPort,
      servingPort,
      ...(servingSocket === undefined ? {} : { servingSocket }),
      adminPort,
      app: identify(app.pid),
    };
    this.#record = record;
    this.#options.registry.write(record); // recorded before the queue-proxy: a leftover app is found too

    const { registry, orphanGraceSeconds, drainQuietSeconds } = this.#options;
    const queueProxy: ChildProcess = spawnPodProcess(
      process.execPath,
      ["--import", POD_GUARD, QUEUE_PROXY_MAIN],
      {
        env: {
          ...process.env,
          USER_PORT: String(appPort),
          USER_PROTOCOL: template.protocol,
          CONTAINER_CONCURRENCY: String(template.containerConcurrency),
          REVISION_TIMEOUT_SECONDS: String(template.timeoutSeconds),
          REVISION_RESPONSE_START_TIMEOUT_SECONDS: String(template.responseStartTimeoutSeconds ?? 0),
          REVISION_IDLE_TIMEOUT_SECONDS: String(template.idleTimeoutSeconds ?? 0),
          SERVING_READINESS_PROBE: template.readinessProbe ? JSON.stringify(template.readinessProbe) : "",
          QUEUE_SERVING_PORT: String(servingPort),
          QUEUE_SERVING_SOCKET: servingSocket,
          QUEUE_ADMIN_PORT: String(adminPort),
          QUEUE_METRICS_PORT: "-1",
          QUEUE_DRAIN_QUIET_SECONDS: String(drainQuietSeconds),
          SERVING_SERVICE: template.service,
          SERVING_NAMESPACE: template.namespace,
          SERVING_CONFIGURATION: template.configuration,
          SERVING_REVISION: template.revision,
          SERVING_POD: this.name,
          SLUICE_POD_LEASE: registry.leasePath,
          SLUICE_POD_ORPHAN_GRACE_SECONDS: String(orphanGraceSeconds),
          SLUICE_POD_APP_PID: String(record.app.pid),
          SLUICE_POD_APP_START: record.app.start ?? "",
        },
        stdout: files.queueProxy,
        stderr: files.queueProxy,
      },
    );
    queueProxy.once("error", (error) => this.#crashed(`cannot start the queue-proxy: ${error.message}`));
    if (queueProxy.pid === undefined) return;
    queueProxy.once("exit", (code, signal) =>
      this.#crashed(
        `queue-proxy exited with ${signal ?? `code ${code}`}: ${lastLines(files.queueProxy, 3).join(" | ")}`,
      ),
    );
    record.queueProxy = identify(queueProxy.pid);
    registry.write(record);
    this.url = `http://127.0.0.1:${servingPort}`;
    this.socket = servingSocket;
    this.adminUrl = `http://127.0.0.1:${adminPort}`;
    this.#schedulePoll();
  }

  #follow(files: ReturnType<typeof podFiles>): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const follower = new FileFollower(files[stream], (text) => {
        this.output.write(stream, text);
        this.#log.debug({ output: text.trimEnd() }, "app output");
      });
      follower.start();
      this.#followers.push(follower);
    }
  }

  #endOutput(): void {
    if (this.#outputEnded) return;
    this.#outputEnded = true;
    for (const follower of this.#followers) follower.close();
    this.output.end();
  }

  #schedulePoll(): void {
    const every = this.everReady ? POLL_MS : STARTUP_POLL_MS;
    this.#pollTimer = setTimeout(() => void this.#poll(), every);
    this.#pollTimer.unref();
  }

  async #poll(): Promise<void> {
    const record = this.#record;
    if (!record || !this.adminUrl || this.#ended()) return;
    if (!this.#children) {
      if (processState(record.app) !== "same") return this.#crashed("app exited");
      if (record.queueProxy && processState(record.queueProxy) !== "same") {
        return this.#crashed("queue-proxy exited");
      }
    }
    // An adopted pod's processes are checked at each poll (no exit event): no long poll for it.
    const longPoll = !this.everReady && this.#children;
    const ready = await queueProxyReady(this.adminUrl, { waitMs: longPoll ? STARTUP_WAIT_MS : 0 });
    if (this.#ended()) return; // stopped or crashed while we asked
    const wasEverReady = this.everReady;
    const next = afterProbe(
      { phase: this.phase, everReady: this.everReady, unanswered: this.#unanswered },
      ready,
    );
    this.everReady = next.everReady;
    this.#unanswered = next.unanswered;
    if (next.everReady && !wasEverReady && record.readyAt === undefined) {
      record.readyAt = Date.now();
      this.#options.registry.write(record);
    }
    this.#setPhase(next.phase);
    this.#schedulePoll();
  }

  #ended(): boolean {
    return this.phase === "terminating" || this.phase === "crashed";
  }

  #setPhase(phase: PodPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.#log.debug({ phase }, "pod phase");
    this.#options.onPhase(this);
  }

  #crashed(reason: string): void {
    if (this.#ended()) return;
    clearTimeout(this.#pollTimer);
    this.exitReason = reason;
    this.#endOutput();
    this.#log.warn({ reason, lastOutput: this.output.lastText(5) }, "pod crashed");
    // Take the other process down too; the platform decides whether to start a new pod.
    if (this.#record?.queueProxy) signalProcess(this.#record.queueProxy, "SIGKILL");
    if (this.#record) signalProcess(this.#record.app, "SIGKILL", true);
    this.#options.registry.remove({ namespace: this.template.namespace, name: this.name });
    this.#setPhase("crashed");
  }

  /** Drains: the queue-proxy first (it finishes what it holds), then the app. */
  async stop(): Promise<void> {
    if (this.phase !== "crashed") this.#setPhase("terminating");
    clearTimeout(this.#pollTimer);
    const record = this.#record;
    const queueProxy = record?.queueProxy;
    if (queueProxy && signalProcess(queueProxy, "SIGTERM")) {
      const drainMs = (this.template.timeoutSeconds + 30) * 1000 + KILL_GRACE_MS;
      if (!(await waitGone(queueProxy, drainMs))) signalProcess(queueProxy, "SIGKILL");
    }
    if (record && signalProcess(record.app, "SIGTERM", true)) {
      if (!(await waitGone(record.app, KILL_GRACE_MS))) signalProcess(record.app, "SIGKILL", true);
    }
    this.#endOutput();
    this.#options.registry.remove({ namespace: this.template.namespace, name: this.name });
  }
}
