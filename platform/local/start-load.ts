/**
 * Whether a starting pod is still loading (wanting the CPU) or only waiting to be ready. A start
 * slot (capacity.ts, maxStarting) exists because starts compete for the CPU: two processes
 * loading their code at once on a 2-core machine make each slower. A pod whose processes then sit
 * idle (an app waiting on its database, a timer, a download) competes with nobody, so its slot
 * goes to the next pod instead of holding it until the pod is ready. Pure: the pod passes in what
 * its processes wanted of the CPU so far (ran or waited to run: cpu-demand.ts), so a start
 * starved by the others still counts as loading.
 */

/** How long a stretch of a pod's CPU time is judged at once. */
export const LOAD_WINDOW_MS = 100;
/** Below this share of one core over a window (run + run-queue wait), a starting pod is waiting, not loading. */
export const LOADING_SHARE = 0.2;

export class StartLoad {
  /** Where the current window began: when, and the pod's CPU demand then (ms). */
  #window: { at: number; cpuMs: number };
  #loading = true;

  /** The first window begins with the pod, when its processes have used no CPU yet. */
  constructor(startedAt: number) {
    this.#window = { at: startedAt, cpuMs: 0 };
  }

  /**
   * Whether the pod counts as loading at `now`, given its processes' CPU demand so far (`cpuMs`,
   * undefined when it cannot be read: a process not started yet or gone, or no /proc). Loading
   * until a whole window shows otherwise; judged again every window, so a pod that turns busy
   * again counts again. Without CPU figures it counts (the slot frees by time or readiness).
   */
  loading(now: number, cpuMs: number | undefined): boolean {
    if (cpuMs === undefined) return true;
    if (cpuMs < this.#window.cpuMs) {
      // A thread or descendant ended and took its time with it: the window's figure means
      // nothing now. Start a new one from here; the last verdict stands meanwhile.
      this.#window = { at: now, cpuMs };
      return this.#loading;
    }
    const elapsed = now - this.#window.at;
    if (elapsed < LOAD_WINDOW_MS) return this.#loading;
    this.#loading = (cpuMs - this.#window.cpuMs) / elapsed >= LOADING_SHARE;
    this.#window = { at: now, cpuMs };
    return this.#loading;
  }

  /** When the current window's verdict is due (ms since the epoch). */
  get nextLookAt(): number {
    return this.#window.at + LOAD_WINDOW_MS;
  }
}
