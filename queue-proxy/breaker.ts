/**
 * The concurrency breaker (Knative's pkg/queue/breaker.go): at most `capacity` requests in flight,
 * up to `queueDepth` more waiting in FIFO order, anything beyond is rejected at once.
 *
 * Callbacks rather than promises: a request that gets a slot straight away pays for no
 * allocation, and a waiter that leaves (client gone) is removed in O(1).
 */
import type { Gate } from "../common/http/proxy-exchange.ts";

export interface BreakerWaiter {
  /** Called once when the waiter gets its slot; it must later call `release()`. */
  admit(): void;
}

export type EnterResult = "admitted" | "queued" | "rejected";

export class Breaker implements Gate {
  readonly capacity: number;
  readonly queueDepth: number;
  #inFlight = 0;
  // A Set keeps insertion order and deletes in O(1): a FIFO queue that waiters can leave.
  readonly #waiting = new Set<BreakerWaiter>();

  /** capacity 0 means unlimited (containerConcurrency 0). */
  constructor(capacity: number, queueDepth: number) {
    this.capacity = capacity === 0 ? Number.POSITIVE_INFINITY : capacity;
    this.queueDepth = queueDepth;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#waiting.size;
  }

  /**
   * Admits at once (and returns "admitted" without calling admit()), queues the waiter, or rejects
   * when the queue is full.
   */
  enter(waiter: BreakerWaiter): EnterResult {
    if (this.#inFlight < this.capacity && this.#waiting.size === 0) {
      this.#inFlight++;
      return "admitted";
    }
    if (this.#waiting.size >= this.queueDepth) return "rejected";
    this.#waiting.add(waiter);
    return "queued";
  }

  /** A queued waiter gives up (its client went away). Returns whether it was still waiting. */
  leave(waiter: BreakerWaiter): boolean {
    return this.#waiting.delete(waiter);
  }

  /** An admitted request finished: its slot goes to the longest waiter, if any. */
  release(_waiter?: BreakerWaiter): void {
    this.#inFlight--;
    const next = this.#waiting.values().next();
    if (!next.done) {
      this.#waiting.delete(next.value);
      this.#inFlight++;
      next.value.admit();
    }
  }
}
