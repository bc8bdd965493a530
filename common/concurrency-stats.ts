import type { PodStats } from "./pod-stats.ts";

/**
 * Time-weighted concurrency and request counts for the autoscaler (Knative's
 * pkg/queue/stats.go). Concurrency counts every request in the pod, queued or in flight, since
 * queued requests are demand too. Time is passed in, so the class is pure and testable.
 */
export class ConcurrencyStats {
  #concurrency = 0;
  #proxiedConcurrency = 0;
  #requests = 0;
  #proxiedRequests = 0;
  // Integrals of concurrency over time (request·ms) since the window started.
  #area = 0;
  #proxiedArea = 0;
  #lastChange: number;
  #windowStart: number;
  /** When the latest request arrived (drain waits for a quiet period after it). */
  lastArrival = 0;

  constructor(now: number) {
    this.#lastChange = now;
    this.#windowStart = now;
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  #accumulate(now: number): void {
    const elapsed = now - this.#lastChange;
    if (elapsed > 0) {
      this.#area += this.#concurrency * elapsed;
      this.#proxiedArea += this.#proxiedConcurrency * elapsed;
      this.#lastChange = now;
    }
  }

  /** A request entered the pod (before the breaker). */
  arrive(now: number, proxied: boolean): void {
    this.#accumulate(now);
    this.lastArrival = now;
    this.#concurrency++;
    this.#requests++;
    if (proxied) {
      this.#proxiedConcurrency++;
      this.#proxiedRequests++;
    }
  }

  /** A request left the pod, whatever its outcome. */
  depart(now: number, proxied: boolean): void {
    this.#accumulate(now);
    this.#concurrency--;
    if (proxied) this.#proxiedConcurrency--;
  }

  /** Averages and counts since the previous read; starts a new window. */
  read(
    now: number,
  ): Pick<
    PodStats,
    | "averageConcurrency"
    | "averageProxiedConcurrency"
    | "requestCount"
    | "proxiedRequestCount"
    | "windowSeconds"
  > {
    this.#accumulate(now);
    const window = now - this.#windowStart;
    const result = {
      // An empty window (two reads in the same millisecond) reports the current level.
      averageConcurrency: window > 0 ? this.#area / window : this.#concurrency,
      averageProxiedConcurrency: window > 0 ? this.#proxiedArea / window : this.#proxiedConcurrency,
      requestCount: this.#requests,
      proxiedRequestCount: this.#proxiedRequests,
      windowSeconds: window / 1000,
    };
    this.#area = 0;
    this.#proxiedArea = 0;
    this.#requests = 0;
    this.#proxiedRequests = 0;
    this.#windowStart = now;
    return result;
  }
}
