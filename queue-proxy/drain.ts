/**
 * Graceful drain, started by SIGTERM or by the preStop hook (drain-hook.ts). Readiness fails at
 * once, but the pod keeps serving: requests that were already routed here (or are still being
 * routed while endpoints update) are answered. The drain completes when nothing is in flight or
 * queued and no request has arrived for the quiet period, or when the hard timeout passes.
 */
export interface DrainOptions {
  quietMs: number;
  timeoutMs: number;
  /** True when no request, queued request or WebSocket is open. */
  isIdle: () => boolean;
  /** When the latest request arrived. */
  lastArrival: () => number;
  checkEveryMs?: number;
  /** Told when a drain starts (true) and when one is cancelled (false). */
  onDraining?: (draining: boolean) => void;
}

export class Drainer {
  readonly #options: DrainOptions;
  #run: { done: Promise<boolean>; stop: () => void } | undefined;

  constructor(options: DrainOptions) {
    this.#options = options;
  }

  /** From the start of a drain until it is cancelled; a finished drain stays drained. */
  get draining(): boolean {
    return this.#run !== undefined;
  }

  /** Whether draining may finish at `now` given when it started. */
  isDone(startedAt: number, now: number): boolean {
    if (now - startedAt >= this.#options.timeoutMs) return true;
    const quietSince = Math.max(startedAt, this.#options.lastArrival());
    return this.#options.isIdle() && now - quietSince >= this.#options.quietMs;
  }

  /**
   * Starts draining, or joins the drain under way (the preStop hook and SIGTERM wait for the same
   * one); resolves with whether it ended cleanly (false = hit the timeout, or cancelled).
   */
  drain(): Promise<boolean> {
    if (this.#run) return this.#run.done;
    const startedAt = Date.now();
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const check = () => {
      if (!this.isDone(startedAt, Date.now())) return;
      clearInterval(timer);
      resolve(this.#options.isIdle());
    };
    const timer = setInterval(check, this.#options.checkEveryMs ?? 50);
    this.#run = {
      done: promise,
      stop: () => {
        clearInterval(timer);
        resolve(false);
      },
    };
    this.#options.onDraining?.(true);
    check();
    return promise;
  }

  /** Ends a drain in progress or finished: ready again, and the next drain starts afresh. */
  cancel(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    run.stop();
    this.#options.onDraining?.(false);
  }
}
