import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../common/log.ts";
import { revisionKey } from "../../common/state.ts";
import type { CapacityStatus } from "../../common/status.ts";
import type {
  LogFilter,
  LogLine,
  Platform,
  PodTemplate,
  RevisionFailure,
  RevisionPods,
} from "../platform.ts";
import { adoptionVerdict } from "./adoption.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF, restartDelay } from "./backoff.ts";
import { type LocalCapacity, planAdmissions, type RevisionSlots } from "./capacity.ts";
import { renewEveryMs, renewLease } from "./lease.ts";
import { LocalPod, type PodOptions } from "./pod.ts";
import { type PodLogLimits, PodLogs } from "./pod-logs.ts";
import { type PodRecord, PodRegistry } from "./pod-registry.ts";
import { processState, signalProcess } from "./process-identity.ts";
import { queueProxyReady } from "./queue-proxy-readiness.ts";
import { LOAD_WINDOW_MS } from "./start-load.ts";

export interface LocalPlatformOptions {
  log: Logger;
  /** Where pods are recorded (`<stateDir>/pods/`), so that a restarted platform adopts them. */
  stateDir: string;
  backoff?: BackoffPolicy;
  /** A pod not ready this long after it started counts as a failed start. */
  startTimeoutMs?: number;
  /** Passed to each queue-proxy: the quiet period of its drain. */
  drainQuietSeconds?: number;
  /** How much of the pods' output is kept for `sluice logs`. */
  logLimits?: Partial<PodLogLimits>;
  /** Pods stop themselves once no platform has renewed their lease for this long (orphans). */
  orphanGraceSeconds?: number;
  /**
   * How many pods run and start at once; pods past it wait as pending (capacity.ts). Default:
   * unbounded (the autoscaler passes the machine's, see autoscaler/config.ts).
   */
  capacity?: LocalCapacity;
  /**
   * A pod starting for longer than this no longer holds a start slot, busy or not: it must not
   * hold up the pods behind it for ever. (One whose processes turn idle gives its slot up sooner:
   * it is waiting on its app, not using the CPU its start needed; start-load.ts.)
   */
  startSlotMs?: number;
}

/** A pod waiting for room on the machine: named already (as a Kubernetes pod is), no process yet. */
interface PendingPod {
  name: string;
  /** When it began to wait (ms since the epoch). */
  since: number;
}

/** One revision's pods as the local platform keeps them. */
interface LocalRevision {
  /** revisionKey(template.namespace, template.revision). */
  key: string;
  template: PodTemplate;
  desired: number;
  pods: Set<LocalPod>;
  /** Pods wanted but waiting for capacity, oldest first. */
  pending: PendingPod[];
  restarts: number;
  /** Pods in a row that ended without ever becoming ready (crashed or timed out): decides failure. */
  failedStarts: number;
  /** Crashes since a pod last became ready: decides the restart delay. */
  crashesInARow: number;
  failure: RevisionFailure | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  nextIndex: number;
}

/** Runs each pod as two local processes (app + queue-proxy) and keeps their count at the desired scale. */
export class LocalPlatform implements Platform {
  readonly #revisions = new Map<string, LocalRevision>();
  readonly #listeners: ((key: string) => void)[] = [];
  readonly #log: Logger;
  readonly #backoff: BackoffPolicy;
  readonly #startTimeoutMs: number;
  readonly #drainQuietSeconds: number;
  readonly #orphanGraceSeconds: number;
  readonly #logs: PodLogs;
  readonly #registry: PodRegistry;
  readonly #leaseTimer: NodeJS.Timeout;
  readonly #capacity: LocalCapacity;
  readonly #startSlotMs: number;
  /** Set while a start slot is held by a pod that will stop holding it by time alone. */
  #admitTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: LocalPlatformOptions) {
    this.#log = options.log;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.#drainQuietSeconds = options.drainQuietSeconds ?? 0.5;
    this.#orphanGraceSeconds = options.orphanGraceSeconds ?? 60;
    this.#capacity = options.capacity ?? { maxPods: Infinity, maxStarting: Infinity };
    this.#startSlotMs = options.startSlotMs ?? 10_000;
    this.#logs = new PodLogs(options.logLimits);
    this.#registry = new PodRegistry(join(options.stateDir, "pods"));
    // Renewed from the start: pods a previous platform left keep running while we decide on them.
    renewLease(this.#registry.leasePath);
    this.#leaseTimer = setInterval(
      () => renewLease(this.#registry.leasePath),
      renewEveryMs(this.#orphanGraceSeconds * 1000),
    );
    this.#leaseTimer.unref();
  }

  ensureRevision(template: PodTemplate): void {
    const key = revisionKey(template.namespace, template.revision);
    const existing = this.#revisions.get(key);
    if (existing) {
      existing.template = template;
      return;
    }
    this.#revisions.set(key, {
      key,
      template,
      desired: 0,
      pods: new Set(),
      pending: [],
      restarts: 0,
      failedStarts: 0,
      crashesInARow: 0,
      failure: undefined,
      restartTimer: undefined,
      nextIndex: 1,
    });
  }

  /**
   * Takes over the pods a previous platform (an autoscaler that died) left running: each one whose
   * revision is known now, whose app and queue-proxy are the very processes recorded (pid and
   * start time) and whose queue-proxy answers /readyz is adopted, and its revision's desired
   * scale counts it. Whatever else is left is killed. Call once, after ensureRevision for every
   * known revision and before the first scale.
   */
  async adopt(): Promise<{ adopted: string[]; killed: string[] }> {
    const { records, stale } = this.#registry.list();
    for (const { dir, record } of stale) {
      if (record) this.#kill(record); // an older layout's pod: never adopted, never left running
      this.#registry.removeDir(dir);
    }
    const verdicts = await Promise.all(
      records.map(async (record) => {
        const queueProxy = record.queueProxy && processState(record.queueProxy);
        const ready =
          queueProxy === "same" ? await queueProxyReady(`http://127.0.0.1:${record.adminPort}`) : undefined;
        const verdict = adoptionVerdict({
          knownRevision: this.#revisions.has(revisionKey(record.namespace, record.revision)),
          app: processState(record.app),
          queueProxy,
          ready,
        });
        return { record, verdict };
      }),
    );
    const adopted: string[] = [];
    const killed: string[] = [];
    const changed = new Set<string>();
    for (const { record, verdict } of verdicts) {
      const key = revisionKey(record.namespace, record.revision);
      const state = this.#revisions.get(key);
      if (verdict.action === "kill" || !state) {
        this.#log.warn(
          { pod: record.name, reason: verdict.action === "kill" ? verdict.reason : "" },
          "killing a leftover pod",
        );
        this.#kill(record);
        killed.push(record.name);
        continue;
      }
      const pod = LocalPod.adopt(state.template, record, this.#podOptions(state, record.name), verdict.ready);
      state.pods.add(pod);
      if (!pod.everReady) this.#watchStart(state, pod);
      state.nextIndex = Math.max(state.nextIndex, podIndex(record.name) + 1);
      changed.add(key);
      adopted.push(record.name);
    }
    for (const key of changed) {
      const state = this.#revisions.get(key) as LocalRevision;
      state.desired = Math.max(state.desired, this.#live(state).length);
      this.#emit(key);
    }
    if (adopted.length + killed.length > 0)
      this.#log.info({ adopted, killed }, "pods left by a previous run");
    return { adopted, killed };
  }

  scale(key: string, replicas: number): void {
    const state = this.#revisions.get(key);
    if (!state) throw new Error(`local platform: unknown revision ${key}`);
    if (state.desired === 0 && replicas > 0 && state.failure) {
      // Demand after a failure earns one more round of attempts; the failure stays visible until
      // a pod becomes ready.
      state.failedStarts = 0;
    }
    state.desired = replicas;
    this.#reconcile(state);
  }

  revision(key: string): RevisionPods | undefined {
    const state = this.#revisions.get(key);
    if (!state) return undefined;
    return {
      key,
      desired: state.desired,
      pods: [
        ...[...state.pods].map((pod) => pod.status(state.restarts)),
        ...state.pending.map(({ name, since }) => ({
          name,
          phase: "pending" as const,
          restarts: state.restarts,
          startedAt: since,
        })),
      ],
      failure: state.failure,
    };
  }

  onChange(listener: (key: string) => void): void {
    this.#listeners.push(listener);
  }

  recentLogs(filter: LogFilter): LogLine[] {
    return this.#logs.recent(filter);
  }

  onLog(listener: (line: LogLine) => void): () => void {
    return this.#logs.subscribe(listener);
  }

  async deleteRevision(key: string): Promise<void> {
    const state = this.#revisions.get(key);
    if (!state) return;
    state.desired = 0;
    state.pending = [];
    clearTimeout(state.restartTimer);
    await Promise.all([...state.pods].map((pod) => this.#stopPod(state, pod)));
    this.#revisions.delete(key);
    this.#logs.forget(key);
  }

  /** A clean stop: every pod drains and exits (adopted ones too), and the lease goes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#admitTimer);
    await Promise.all([...this.#revisions.keys()].map((key) => this.deleteRevision(key)));
    clearInterval(this.#leaseTimer);
    rmSync(this.#registry.leasePath, { force: true });
  }

  #emit(key: string): void {
    for (const listener of this.#listeners) listener(key);
  }

  #live(state: LocalRevision): LocalPod[] {
    return [...state.pods].filter((pod) => pod.phase !== "terminating" && pod.phase !== "crashed");
  }

  /**
   * Closes the gap between the revision's live pods and its desired scale: missing pods join the
   * pending queue (after the crash back-off, unless the revision failed), extra ones leave it
   * first (the newest), and only then do running pods stop. Which pending pods start is #admit's.
   */
  #reconcile(state: LocalRevision): void {
    if (this.#closed) return;
    const live = this.#live(state);
    const missing = state.desired - live.length;
    if (state.pending.length > Math.max(0, missing)) {
      state.pending.splice(Math.max(0, missing));
      this.#emit(state.key);
    }
    // Not while a restart waits out its back-off, nor once the revision failed (stop trying).
    const restarting = state.restartTimer !== undefined;
    const failed = state.failedStarts >= this.#backoff.failAfterCrashes;
    if (missing > state.pending.length && !restarting && !failed) {
      const queueMissing = () => {
        state.restartTimer = undefined;
        if (this.#closed) return;
        const now = Date.now();
        const more = state.desired - this.#live(state).length - state.pending.length;
        for (let i = 0; i < more; i++) state.pending.push({ name: this.#nextName(state), since: now });
        if (more > 0) this.#emit(state.key);
        this.#admit();
      };
      const delay = restartDelay(this.#backoff, state.crashesInARow);
      if (delay === 0) queueMissing();
      else state.restartTimer = setTimeout(queueMissing, delay);
    } else if (missing < 0) {
      for (const pod of scaleDownOrder(live).slice(0, -missing)) void this.#stopPod(state, pod);
    }
    this.#admit(); // a crashed or stopped pod may have freed a slot for another revision
  }

  /** Undefined without a limit (a platform made without one, as some tests make it). */
  capacity(): CapacityStatus | undefined {
    const { maxPods, maxStarting } = this.#capacity;
    if (!Number.isFinite(maxPods) || !Number.isFinite(maxStarting)) return undefined;
    let pods = 0;
    let pending = 0;
    for (const state of this.#revisions.values()) {
      pods += state.pods.size;
      pending += state.pending.length;
    }
    return { maxPods, maxStarting, pods, pending };
  }

  /**
   * Starts the pending pods capacity has room for, fairly across revisions (planAdmissions), and
   * preempts a pod of the revision with the most when one with far fewer waits on a full machine.
   */
  #admit(): void {
    if (this.#closed) return;
    clearTimeout(this.#admitTimer);
    this.#admitTimer = undefined;
    const now = Date.now();
    let slotFreesAt = Infinity;
    const slots: RevisionSlots[] = [];
    for (const state of this.#revisions.values()) {
      const live = this.#live(state);
      let starting = 0;
      for (const pod of live) {
        if (pod.phase !== "starting") continue;
        const frees = pod.startedAt + this.#startSlotMs;
        // A pod that only waits (its processes idle) competes with no start: its slot is free.
        if (frees <= now || !pod.loading(now)) continue;
        starting++;
        // (A window past due: its CPU figures could not be read. Look again a window on.)
        const look = pod.nextLoadLookAt > now ? pod.nextLoadLookAt : now + LOAD_WINDOW_MS;
        slotFreesAt = Math.min(slotFreesAt, frees, look);
      }
      slots.push({
        key: state.key,
        pods: state.pods.size,
        live: live.length,
        starting,
        pending: state.pending.length,
        waitingSince: state.pending[0]?.since ?? Infinity,
      });
    }
    const { start, preempt } = planAdmissions(this.#capacity, slots);
    for (const key of start) {
      const state = this.#revisions.get(key) as LocalRevision;
      const pending = state.pending.shift() as PendingPod;
      this.#startPod(state, pending.name);
      slotFreesAt = Math.min(slotFreesAt, now + LOAD_WINDOW_MS); // its first look at its load
    }
    if (preempt) {
      const state = this.#revisions.get(preempt) as LocalRevision;
      const [victim] = scaleDownOrder(this.#live(state));
      this.#log.info(
        { namespace: state.template.namespace, revision: state.template.revision, pod: victim.name },
        "preempting a pod: a revision with far fewer pods waits for room",
      );
      void this.#stopPod(state, victim);
      this.#reconcile(state); // it still wants the pod: it waits in line like the others
    }
    const waiting = slots.some((slot) => slot.pending > start.filter((key) => key === slot.key).length);
    if (waiting && slotFreesAt < Infinity) {
      // A start slot frees by time alone (a pod slow to become ready, or one whose processes
      // turned idle, start-load.ts): look again then.
      this.#admitTimer = setTimeout(() => this.#admit(), slotFreesAt - now);
      this.#admitTimer.unref();
    }
  }

  #nextName(state: LocalRevision): string {
    return `${state.template.revision}-${String(state.nextIndex++).padStart(3, "0")}`;
  }

  #podOptions(state: LocalRevision, name: string): PodOptions {
    const { template } = state;
    return {
      log: this.#log,
      output: this.#logs.open({
        namespace: template.namespace,
        service: template.service,
        revision: template.revision,
        pod: name,
      }),
      registry: this.#registry,
      orphanGraceSeconds: this.#orphanGraceSeconds,
      drainQuietSeconds: this.#drainQuietSeconds,
      onPhase: (changed) => this.#onPhase(state, changed),
    };
  }

  #startPod(state: LocalRevision, name: string): void {
    const pod = new LocalPod(state.template, name, this.#podOptions(state, name));
    state.pods.add(pod);
    this.#watchStart(state, pod);
    void pod.start();
    this.#emit(state.key);
  }

  /**
   * A pod not ready within the start timeout is a failed start like a crash: it is stopped,
   * counts toward the failure budget and the back-off, and is replaced (until the budget is spent).
   */
  #watchStart(state: LocalRevision, pod: LocalPod): void {
    const remaining = this.#startTimeoutMs - (Date.now() - pod.startedAt);
    const timer = setTimeout(
      () => {
        if (pod.everReady || !state.pods.has(pod) || (pod.phase !== "starting" && pod.phase !== "not-ready"))
          return;
        state.restarts++;
        state.crashesInARow++;
        this.#failedStart(state, pod, `not ready within ${this.#startTimeoutMs / 1000}s`);
        void this.#stopPod(state, pod); // terminating at once: no longer live, so it is replaced
        this.#reconcile(state);
      },
      Math.max(0, remaining),
    );
    timer.unref();
  }

  #failedStart(state: LocalRevision, pod: LocalPod, reason: string): void {
    state.failedStarts++;
    this.#log.warn(
      {
        namespace: state.template.namespace,
        revision: state.template.revision,
        pod: pod.name,
        reason,
        failedStarts: state.failedStarts,
      },
      "pod failed to start",
    );
    if (state.failedStarts >= this.#backoff.failAfterCrashes) {
      pod.readOutput();
      state.failure = { reason, logs: pod.output.lastText(20) };
      this.#log.error(
        { namespace: state.template.namespace, revision: state.template.revision, reason },
        "revision failed: its pods do not start",
      );
    }
  }

  #onPhase(state: LocalRevision, pod: LocalPod): void {
    if (pod.phase === "ready") {
      state.failedStarts = 0;
      state.crashesInARow = 0;
      state.failure = undefined;
      this.#admit(); // its start slot is free
    } else if (pod.phase === "crashed") {
      state.pods.delete(pod);
      state.restarts++;
      state.crashesInARow++;
      if (!pod.everReady) this.#failedStart(state, pod, pod.exitReason ?? "crashed");
      this.#reconcile(state);
    }
    this.#emit(state.key);
  }

  async #stopPod(state: LocalRevision, pod: LocalPod): Promise<void> {
    await pod.stop();
    state.pods.delete(pod);
    this.#emit(state.key);
    this.#admit(); // its slot is free
  }

  /** Kills what still runs of a pod that cannot be adopted (never a reused pid), and forgets it. */
  #kill(record: PodRecord): void {
    if (record.queueProxy) signalProcess(record.queueProxy, "SIGKILL");
    signalProcess(record.app, "SIGKILL", true);
    this.#registry.remove(record);
  }
}

/** Which pods a scale-down stops first: not-ready ones, then the newest (the oldest have warm caches). */
function scaleDownOrder(live: LocalPod[]): LocalPod[] {
  const rank = (phase: string) => (phase === "ready" ? 1 : 0);
  return [...live].sort((a, b) => rank(a.phase) - rank(b.phase) || b.startedAt - a.startedAt);
}

/** The number at the end of a pod's name ({revision}-{nnn}). */
function podIndex(name: string): number {
  const index = Number(name.slice(name.lastIndexOf("-") + 1));
  return Number.isInteger(index) ? index : 0;
}
