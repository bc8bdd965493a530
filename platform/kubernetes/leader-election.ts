/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: each
 * candidate reads the Lease every `retryPeriodMs`; the holder renews it (renewTime), others take
 * it only once it has not changed for `leaseDurationMs` as seen by their own clock (the
 * resourceVersion stopped moving — no trust in another machine's clock). Every write carries the
 * resourceVersion read, so of two candidates writing at once one gets 409 Conflict and simply
 * tries again next period. A leader that has not renewed for `renewDeadlineMs` (< the lease
 * duration, so it gives up before anyone else may take over) stops leading and becomes a
 * candidate again; `stop()` releases the Lease (holder cleared) so a successor need not wait.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { isStatus } from "./api-status.ts";

/** The Lease calls used (CoordinationV1Api's); tests wrap the real one. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

export interface LeaderElectionOptions {
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This candidate (e.g. the pod name); unique among candidates. */
  identity: string;
  /** How long a Lease not renewed keeps others off it. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long stops leading. Default 2/3 of the lease duration. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Started when this candidate becomes leader; the signal aborts when it stops leading. */
  onStartedLeading?: (signal: AbortSignal) => void;
  onStoppedLeading?: (reason: string) => void;
  /** Told when the observed holder changes (including to this candidate). */
  onNewLeader?: (identity: string) => void;
  onError?: (error: unknown) => void;
  /** The Lease API; made from `kubeConfig` when absent. */
  api?: LeaseApi;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class LeaderElector {
  readonly identity: string;
  readonly #api: LeaseApi;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #options: LeaderElectionOptions;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #leading: AbortController | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #observedVersion: string | undefined;
  #observedAt = 0;
  #observedHolder = "";
  /** Counters, for tests and metrics. */
  readonly stats = { attempts: 0, conflicts: 0, errors: 0, acquired: 0, lost: 0 };

  constructor(kubeConfig: KubeConfig | undefined, options: LeaderElectionOptions) {
    this.identity = options.identity;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? Math.floor((this.#leaseDurationMs * 2) / 3);
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.#renewDeadlineMs >= this.#leaseDurationMs) {
      throw new Error("renewDeadlineMs must be shorter than leaseDurationMs");
    }
    if (this.#retryPeriodMs >= this.#renewDeadlineMs) {
      throw new Error("retryPeriodMs must be shorter than renewDeadlineMs");
    }
    if (!options.api && !kubeConfig) throw new Error("a KubeConfig or a Lease API is needed");
    this.#api = options.api ?? kubeConfig!.makeApiClient(CoordinationV1Api);
    this.#options = options;
  }

  get isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** The holder last seen on the Lease ("" when none). */
  get leader(): string {
    return this.#observedHolder;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /**
   * Stops campaigning. A leader stops leading and, with `release` (the default), clears the
   * Lease's holder so another candidate takes over at its next try rather than after the lease
   * duration; without it the Lease simply expires, as if this process had died.
   */
  async stop({ release = true }: { release?: boolean } = {}): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    await this.#running;
    if (this.#leading) {
      this.#stopLeading("stopped");
      if (release) await this.#release().catch((error) => this.#options.onError?.(error));
    }
  }

  async #run(): Promise<void> {
    const stopped = this.#stop.signal;
    while (!stopped.aborted) {
      let renewed = false;
      const sentAt = Date.now();
      try {
        renewed = await this.#tryAcquireOrRenew();
      } catch (error) {
        this.stats.errors++;
        if (!stopped.aborted) this.#options.onError?.(error);
      }
      if (stopped.aborted) break;
      if (renewed) {
        // The deadline runs from when this renewal was sent, not from its answer: the others
        // time the Lease from when they saw it written, which may be as early as that. A renewal
        // answered after the deadline proves nothing (they may be leading by now).
        const left = this.#renewDeadlineMs - (Date.now() - sentAt);
        if (left > 0) {
          this.#armWatchdog(left);
          if (!this.#leading) this.#startLeading();
        } else if (this.#leading) {
          this.#stopLeading(`the Lease's renewal took longer than ${this.#renewDeadlineMs} ms`);
        }
      }
      // Candidates wait a little longer at random so they do not all try at once (client-go's 1.2).
      const wait = this.#leading ? this.#retryPeriodMs : this.#retryPeriodMs * (1 + 0.2 * Math.random());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        this.#wake = done;
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  /** A leader that has not renewed by the deadline stops leading, even if a request hangs. */
  #armWatchdog(ms: number): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (this.#leading) this.#stopLeading(`could not renew the Lease within ${this.#renewDeadlineMs} ms`);
    }, ms);
    this.#watchdog.unref();
  }

  #startLeading(): void {
    this.stats.acquired++;
    this.#leading = new AbortController();
    this.#options.onStartedLeading?.(this.#leading.signal);
  }

  #stopLeading(reason: string): void {
    const leading = this.#leading;
    if (!leading) return;
    this.#leading = undefined;
    clearTimeout(this.#watchdog);
    if (reason !== "stopped") this.stats.lost++;
    leading.abort();
    this.#options.onStoppedLeading?.(reason);
  }

  #observe(lease: V1Lease): void {
    const version = lease.metadata?.resourceVersion;
    if (version !== this.#observedVersion) {
      this.#observedVersion = version;
      this.#observedAt = Date.now();
    }
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== this.#observedHolder) {
      this.#observedHolder = holder;
      if (holder) this.#options.onNewLeader?.(holder);
    }
  }

  #call<T>(promise: Promise<T>, what: string): Promise<T> {
    // No request may outlast the renew deadline: a hung one must not keep the loop from deciding.
    return withTimeout(promise, this.#renewDeadlineMs, what);
  }

  /** One try: true when this candidate holds the Lease afterwards (acquired or renewed). */
  async #tryAcquireOrRenew(): Promise<boolean> {
    this.stats.attempts++;
    const name = this.#name;
    const namespace = this.#namespace;
    const leaseDurationSeconds = Math.ceil(this.#leaseDurationMs / 1000);
    const now = new V1MicroTime();
    let lease: V1Lease;
    try {
      lease = await this.#call(this.#api.readNamespacedLease({ name, namespace }), "reading the Lease");
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      try {
        const created = await this.#call(
          this.#api.createNamespacedLease({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: {
                holderIdentity: this.identity,
                leaseDurationSeconds,
                acquireTime: now,
                renewTime: now,
                leaseTransitions: 0,
              },
            },
          }),
          "creating the Lease",
        );
        this.#observe(created);
        return true;
      } catch (createError) {
        if (isStatus(createError, 409)) {
          this.stats.conflicts++;
          return false; // another candidate created it first
        }
        throw createError;
      }
    }
    this.#observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const theirDurationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder && holder !== this.identity && Date.now() < this.#observedAt + theirDurationMs) {
      return false; // held, and renewed within its duration as far as we have seen
    }
    const taking = holder !== this.identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds,
        renewTime: now,
        acquireTime: taking ? now : spec.acquireTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (taking ? 1 : 0),
      },
    };
    try {
      const updated = await this.#call(
        this.#api.replaceNamespacedLease({ name, namespace, body }),
        "updating the Lease",
      );
      this.#observe(updated);
      return true;
    } catch (error) {
      if (isStatus(error, 409)) {
        this.stats.conflicts++;
        return false; // someone else wrote it since we read it: try again next period
      }
      throw error;
    }
  }

  async #release(): Promise<void> {
    const lease = await this.#call(
      this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }),
      "reading the Lease",
    );
    if (lease.spec?.holderIdentity !== this.identity) return;
    const now = new V1MicroTime();
    await this.#call(
      this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: now,
            acquireTime: now,
          },
        },
      }),
      "releasing the Lease",
    );
  }
}
