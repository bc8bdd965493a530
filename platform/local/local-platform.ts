import type { Logger } from "../../common/log.ts";
import type {
  LogFilter,
  LogLine,
  Platform,
  PodTemplate,
  RevisionFailure,
  RevisionPods,
} from "../platform.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF, restartDelay } from "./backoff.ts";
import { LocalPod } from "./pod.ts";
import { type PodLogLimits, PodLogs } from "./pod-logs.ts";

export interface LocalPlatformOptions {
  log: Logger;
  backoff?: BackoffPolicy;
  /** A pod not ready this long after it started counts as a failed start. */
  startTimeoutMs?: number;
  /** Passed to each queue-proxy: the quiet period of its drain. */
  drainQuietSeconds?: number;
  /** How much of the pods' output is kept for `sluice logs`. */
  logLimits?: Partial<PodLogLimits>;
}

interface RevisionState {
  template: PodTemplate;
  desired: number;
  pods: Set<LocalPod>;
  restarts: number;
  /** Pods in a row that ended without ever becoming ready: decides failure. */
  failedStarts: number;
  /** Crashes since a pod last became ready: decides the restart delay. */
  crashesInARow: number;
  failure: RevisionFailure | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  nextIndex: number;
}

/** Runs each pod as two local processes (app + queue-proxy) and keeps their count at the desired scale. */
export class LocalPlatform implements Platform {
  readonly #revisions = new Map<string, RevisionState>();
  readonly #listeners: ((revision: string) => void)[] = [];
  readonly #log: Logger;
  readonly #backoff: BackoffPolicy;
  readonly #startTimeoutMs: number;
  readonly #drainQuietSeconds: number;
  readonly #logs: PodLogs;
  #closed = false;

  constructor(options: LocalPlatformOptions) {
    this.#log = options.log;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.#drainQuietSeconds = options.drainQuietSeconds ?? 0.5;
    this.#logs = new PodLogs(options.logLimits);
  }

  ensureRevision(template: PodTemplate): void {
    const existing = this.#revisions.get(template.revision);
    if (existing) {
      existing.template = template;
      return;
    }
    this.#revisions.set(template.revision, {
      template,
      desired: 0,
      pods: new Set(),
      restarts: 0,
      failedStarts: 0,
      crashesInARow: 0,
      failure: undefined,
      restartTimer: undefined,
      nextIndex: 1,
    });
  }

  scale(revision: string, replicas: number): void {
    const state = this.#revisions.get(revision);
    if (!state) throw new Error(`local platform: unknown revision ${revision}`);
    if (state.desired === 0 && replicas > 0 && state.failure) {
      // Demand after a failure earns one more round of attempts; the failure stays visible until
      // a pod becomes ready.
      state.failedStarts = 0;
    }
    state.desired = replicas;
    this.#reconcile(state);
  }

  revision(revision: string): RevisionPods | undefined {
    const state = this.#revisions.get(revision);
    if (!state) return undefined;
    return {
      revision,
      desired: state.desired,
      pods: [...state.pods].map((pod) => pod.status(state.restarts)),
      failure: state.failure,
    };
  }

  onChange(listener: (revision: string) => void): void {
    this.#listeners.push(listener);
  }

  recentLogs(filter: LogFilter): LogLine[] {
    return this.#logs.recent(filter);
  }

  onLog(listener: (line: LogLine) => void): () => void {
    return this.#logs.subscribe(listener);
  }

  async deleteRevision(revision: string): Promise<void> {
    const state = this.#revisions.get(revision);
    if (!state) return;
    state.desired = 0;
    clearTimeout(state.restartTimer);
    await Promise.all([...state.pods].map((pod) => this.#stopPod(state, pod)));
    this.#revisions.delete(revision);
    this.#logs.forget(revision);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#revisions.keys()].map((revision) => this.deleteRevision(revision)));
  }

  #emit(revision: string): void {
    for (const listener of this.#listeners) listener(revision);
  }

  #live(state: RevisionState): LocalPod[] {
    return [...state.pods].filter((pod) => pod.phase !== "terminating" && pod.phase !== "crashed");
  }

  #reconcile(state: RevisionState): void {
    if (this.#closed) return;
    const live = this.#live(state);
    if (live.length < state.desired) {
      if (state.restartTimer !== undefined) return; // a restart is already scheduled
      if (state.failedStarts >= this.#backoff.failAfterCrashes) return; // failed: stop trying
      const delay = restartDelay(this.#backoff, state.crashesInARow);
      const startMissing = () => {
        state.restartTimer = undefined;
        const missing = state.desired - this.#live(state).length;
        for (let i = 0; i < missing; i++) this.#startPod(state);
      };
      if (delay === 0) startMissing();
      else state.restartTimer = setTimeout(startMissing, delay);
      return;
    }
    // Scale down: not-ready pods first, then the newest (the oldest have warm caches).
    const rank = (phase: string) => (phase === "ready" ? 1 : 0);
    const victims = live
      .sort((a, b) => rank(a.phase) - rank(b.phase) || b.startedAt - a.startedAt)
      .slice(0, live.length - state.desired);
    for (const pod of victims) void this.#stopPod(state, pod);
  }

  #startPod(state: RevisionState): void {
    const { template } = state;
    const name = `${template.revision}-${String(state.nextIndex++).padStart(3, "0")}`;
    const pod = new LocalPod(template, name, {
      log: this.#log,
      output: this.#logs.open({
        namespace: template.namespace,
        service: template.service,
        revision: template.revision,
        pod: name,
      }),
      drainQuietSeconds: this.#drainQuietSeconds,
      onPhase: (changed) => this.#onPhase(state, changed),
    });
    state.pods.add(pod);
    const startTimer = setTimeout(() => {
      if (pod.phase === "starting" || (pod.phase === "not-ready" && !pod.everReady)) {
        this.#failedStart(state, pod, `not ready within ${this.#startTimeoutMs / 1000}s`);
        void pod.stop().then(() => state.pods.delete(pod));
      }
    }, this.#startTimeoutMs);
    startTimer.unref();
    pod.start().catch((error: Error) => this.#failedStart(state, pod, error.message));
    this.#emit(state.template.revision);
  }

  #failedStart(state: RevisionState, pod: LocalPod, reason: string): void {
    state.failedStarts++;
    if (state.failedStarts >= this.#backoff.failAfterCrashes) {
      state.failure = { reason, logs: pod.output.lastText(20) };
      this.#log.error(
        { revision: state.template.revision, reason },
        "revision failed: its pods do not start",
      );
    }
  }

  #onPhase(state: RevisionState, pod: LocalPod): void {
    if (pod.phase === "ready") {
      state.failedStarts = 0;
      state.crashesInARow = 0;
      state.failure = undefined;
    } else if (pod.phase === "crashed") {
      state.pods.delete(pod);
      state.restarts++;
      state.crashesInARow++;
      if (!pod.everReady) this.#failedStart(state, pod, pod.exitReason ?? "crashed");
      this.#reconcile(state);
    }
    this.#emit(state.template.revision);
  }

  async #stopPod(state: RevisionState, pod: LocalPod): Promise<void> {
    await pod.stop();
    state.pods.delete(pod);
    this.#emit(state.template.revision);
  }
}
