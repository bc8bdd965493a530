import type { ChildProcess } from "node:child_process";
import type { ComponentExit, ComponentState, ComponentStatus } from "../../common/status.ts";
import { type Component, lastWords, messageOf, StartError, startComponent } from "./component.ts";
import { pinnedPortsEnv } from "./pinned-ports.ts";
import {
  DEFAULT_RESTART_POLICY,
  type DeathRecord,
  NO_DEATHS,
  onDeath,
  type RestartPolicyOptions,
} from "./restart-policy.ts";

export interface SupervisorOptions {
  name: string;
  /** The entry point's absolute path. */
  entry: string;
  env: Record<string, string>;
  /** Added to `env` for the first run only (the autoscaler's AUTOSCALER_RESTORE=none). */
  firstRunEnv?: Record<string, string>;
  /** Each port the component reports → the variable that sets it, pinned on restarts. */
  portVariables: Record<string, string>;
  /** Every output line of every run. */
  onLine: (line: string) => void;
  /** What the supervisor has to say: deaths and restarts. */
  onEvent: (message: string) => void;
  /** Called whenever `status()` changes: a death, a restart, a failed restart, giving up. */
  onChange?: () => void;
  policy?: RestartPolicyOptions;
  startTimeoutMs?: number;
  now?: () => number;
}

const LAST_LINES = 5;

/**
 * One component of `sluice up`: started once (a failure there is the caller's), then restarted
 * with back-off whenever it dies, with the same environment and ports, until `stop()` or until
 * the restart policy gives up (`gaveUp` resolves with the message to stop the whole with).
 */
export class Supervisor {
  readonly name: string;
  /** Resolves with why, once the component keeps dying and is no longer restarted. */
  readonly gaveUp: Promise<string>;
  readonly #options: SupervisorOptions;
  readonly #policy: RestartPolicyOptions;
  readonly #now: () => number;
  #env: Record<string, string>;
  #ports: Record<string, number> = {};
  #child: ChildProcess | undefined;
  #state: ComponentState = "running";
  #startedAt = 0;
  #restarts = 0;
  #record: DeathRecord = NO_DEATHS;
  #lastExit: ComponentExit | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #supervising: Promise<void> = Promise.resolve();
  #giveUp: (message: string) => void = () => {};

  private constructor(options: SupervisorOptions) {
    this.name = options.name;
    this.#options = options;
    this.#policy = options.policy ?? DEFAULT_RESTART_POLICY;
    this.#now = options.now ?? Date.now;
    this.#env = { ...options.env, ...options.firstRunEnv };
    this.gaveUp = new Promise((resolve) => (this.#giveUp = resolve));
  }

  /** Starts the component; rejects (StartError) as startComponent does when the first run fails. */
  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(options);
    const component = await supervisor.#run();
    supervisor.#ports = component.ports;
    // Later runs listen where this one does.
    supervisor.#env = { ...options.env, ...pinnedPortsEnv(options.portVariables, component.ports) };
    supervisor.#supervising = supervisor.#supervise(component);
    return supervisor;
  }

  /** The ports the first run reported (every later run listens on the same). */
  get ports(): Record<string, number> {
    return { ...this.#ports };
  }

  status(): ComponentStatus {
    const child = this.#child;
    const running = child !== undefined && child.exitCode === null && child.signalCode === null;
    return {
      name: this.name,
      state: this.#state,
      ...(running && child.pid !== undefined ? { pid: child.pid } : {}),
      ports: this.ports,
      restarts: this.#restarts,
      startedAt: new Date(this.#startedAt).toISOString(),
      ...(this.#lastExit ? { lastExit: this.#lastExit } : {}),
    };
  }

  /** From now on a death is final: for a stop, as signals may reach the component first. */
  noMoreRestarts(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  /** SIGTERM to the running process, waiting for it to exit; no restart after this. */
  async stop(): Promise<void> {
    this.noMoreRestarts();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await this.#supervising;
    if (this.#state !== "failed") this.#state = "stopped";
  }

  /** SIGKILL to the running process at once (a second Ctrl-C, or a stop that takes too long). */
  kill(): void {
    this.noMoreRestarts();
    this.#child?.kill("SIGKILL");
  }

  #run(): Promise<Component> {
    this.#startedAt = this.#now();
    return startComponent({
      name: this.name,
      entry: this.#options.entry,
      env: this.#env,
      onLine: this.#options.onLine,
      onSpawn: (child) => {
        this.#child = child;
        // A stop that came while this run was starting: it must not outlive the stop.
        if (this.#stopping) child.kill("SIGTERM");
      },
      timeoutMs: this.#options.startTimeoutMs,
    });
  }

  async #supervise(first: Component): Promise<void> {
    let component: Component | undefined = first;
    let code = "";
    let lines: string[] = [];
    for (;;) {
      if (component) {
        code = await component.exited;
        lines = component.lastLines();
      }
      if (this.#stopping) return;
      const diedAt = this.#now();
      this.#lastExit = {
        code,
        at: new Date(diedAt).toISOString(),
        ranForMs: diedAt - this.#startedAt,
        lastLines: lines.slice(-LAST_LINES).map(messageOf),
      };
      const decision = onDeath(this.#record, this.#startedAt, diedAt, this.#policy);
      this.#record = decision.record;
      if (decision.action === "give-up") {
        this.#state = "failed";
        this.#options.onChange?.();
        const window = `${this.#policy.windowMs / 1000} s`;
        this.#giveUp(
          `${this.name} exited (${code}) ${decision.deathsInWindow} times within ${window}; its last output:\n  ${lastWords(lines).join("\n  ")}`,
        );
        return;
      }
      this.#restarts++;
      this.#state = "restarting";
      this.#options.onChange?.();
      this.#options.onEvent(
        `${this.name} exited (${code}); restarting in ${decision.delayMs / 1000} s (restart ${this.#restarts})`,
      );
      await this.#sleep(decision.delayMs);
      if (this.#stopping) return;
      try {
        component = await this.#run();
        this.#state = "running";
        this.#options.onChange?.();
        this.#options.onEvent(`${this.name} restarted (pid ${component.child.pid})`);
      } catch (error) {
        if (this.#stopping) return;
        component = undefined;
        code = error instanceof StartError ? error.code : "did not start";
        lines = error instanceof StartError ? error.lines : [(error as Error).message];
      }
    }
  }

  /** Waits `ms`, or less when stopped meanwhile. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
