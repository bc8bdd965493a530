/**
 * A rate-limited work queue for reconcilers, client-go's workqueue in one file: keys, not
 * events, so a burst of changes to one object is reconciled once (a key waiting is not queued
 * twice); one key is never handed to two workers at once (a key added while it is being worked
 * on is queued again when that work ends); a failed key comes back after a per-key exponential
 * back-off (`addRateLimited`) until `forget` clears its count; at most `concurrency` keys are
 * worked on at a time. Pure apart from the injected clock, so tests drive it with a fake one.
 */
import { type BackoffOptions, backoffDelay } from "./backoff.ts";

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  /** Keys worked on at once. Default 2. */
  concurrency?: number;
  /** Per-key back-off after failures: 5 ms doubling to 1000 s in client-go; here 100 ms to 5 min. */
  backoff?: BackoffOptions;
  clock?: Clock;
  /** For the jitter; tests pass a fixed one. */
  random?: () => number;
}

/** Does the work for a key. Resolving forgets the key's failures; throwing requeues it rate-limited. */
export type Reconcile = (key: string) => Promise<void>;

export const DEFAULT_QUEUE_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 5 * 60_000, jitter: 0.1 };

export class WorkQueue {
  readonly #reconcile: Reconcile;
  readonly #concurrency: number;
  readonly #backoff: BackoffOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  /** Keys waiting, in order. */
  readonly #queue: string[] = [];
  /** Keys that need work (waiting, or to be requeued once their current work ends). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  /** Failures in a row per key. */
  readonly #failures = new Map<string, number>();
  /** Delayed adds: key → the earliest time it is due and its timer. */
  readonly #delayed = new Map<string, { at: number; timer: unknown }>();
  #shutDown = false;
  #pumpScheduled = false;
  #idleWaiters: (() => void)[] = [];

  constructor(reconcile: Reconcile, options: WorkQueueOptions = {}) {
    this.#reconcile = reconcile;
    this.#concurrency = Math.max(1, options.concurrency ?? 2);
    this.#backoff = options.backoff ?? DEFAULT_QUEUE_BACKOFF;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
  }

  /** Queues `key` unless it is already waiting. */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // queued again when its current work ends
    this.#queue.push(key);
    this.#schedulePump();
  }

  /** Queues `key` after `ms`; a sooner delayed add for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.#clock.clearTimeout(pending.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, timer });
  }

  /** Queues `key` after its back-off, which doubles with each call until `forget`. */
  addRateLimited(key: string): void {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.addAfter(key, backoffDelay(this.#backoff, failures, this.#random));
  }

  /** Clears the key's failure count (its next `addRateLimited` waits the base delay again). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Failures in a row recorded for `key`. */
  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys waiting (not counting delayed ones or those being worked on). */
  get length(): number {
    return this.#queue.length;
  }

  get processing(): number {
    return this.#processing.size;
  }

  /** Stops taking keys and drops delayed ones; resolves once the work in hand has ended. */
  async shutDown(): Promise<void> {
    this.#shutDown = true;
    for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    await this.idle();
  }

  /** Resolves once nothing is waiting or being worked on (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (!this.#shutDown && this.#processing.size < this.#concurrency && this.#queue.length > 0) {
      const key = this.#queue.shift()!;
      this.#dirty.delete(key);
      this.#processing.add(key);
      void this.#work(key);
    }
    this.#maybeIdle();
  }

  async #work(key: string): Promise<void> {
    let failed = false;
    try {
      await this.#reconcile(key);
    } catch {
      failed = true;
    }
    this.#processing.delete(key);
    if (!this.#shutDown) {
      if (failed) this.addRateLimited(key);
      else this.forget(key);
      // Added while being worked on: its turn now, at the back of the line.
      if (this.#dirty.has(key)) this.#queue.push(key);
    }
    this.#pump();
  }

  #maybeIdle(): void {
    if (this.#queue.length > 0 || this.#processing.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
