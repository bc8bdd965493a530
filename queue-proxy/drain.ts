/**
 * Graceful drain after SIGTERM. Readiness fails at once, but the pod keeps serving: requests that
 * were already routed here (or are still being routed while endpoints update) are answered. The
 * drain completes when nothing is in flight or queued and no request has arrived for the quiet
 * period, or when the hard timeout passes.
 */
export interface DrainOptions {
  quietMs: number;
  timeoutMs: number;
  /** True when no request, queued request or WebSocket is open. */
  isIdle: () => boolean;
  /** When the latest request arrived. */
  lastArrival: () => number;
  checkEveryMs?: number;
}

export class Drainer {
  draining = false;
  readonly #options: DrainOptions;

  constructor(options: DrainOptions) {
    this.#options = options;
  }

  /** Whether draining may finish at `now` given when it started. */
  isDone(startedAt: number, now: number): boolean {
    if (now - startedAt >= this.#options.timeoutMs) return true;
    const quietSince = Math.max(startedAt, this.#options.lastArrival());
    return this.#options.isIdle() && now - quietSince >= this.#options.quietMs;
  }

  /** Starts draining; resolves with whether it ended cleanly (false = hit the timeout). */
  drain(): Promise<boolean> {
    this.draining = true;
    const startedAt = Date.now();
    return new Promise((resolve) => {
      const check = () => {
        const now = Date.now();
        if (this.isDone(startedAt, now)) {
          clearInterval(timer);
          resolve(this.#options.isIdle());
        }
      };
      const timer = setInterval(check, this.#options.checkEveryMs ?? 50);
      check();
    });
  }
}
