import { readFileSync } from "node:fs";

/**
 * Whether a starting pod still needs the machine. A start costs a burst of CPU (two processes
 * loading their code), and then often a wait that costs none: an app sleeping through its own
 * boot, or waiting on a database. A start slot (capacity.ts) is for the burst: once the pod's
 * processes have been quiet for a window, its slot can go to the next pod, which then starts
 * while this one waits, instead of after it is ready.
 */

/** How long a quiet spell must last before the start counts as settled. */
export const QUIET_WINDOW_MS = 50;
/** Below this share of one core (running, or runnable and waiting for a core), a pod is quiet. */
export const QUIET_SHARE = 0.2;
/** How deep to follow children (an app started by a shell, a worker it forks). */
const MAX_DEPTH = 3;

/** One starting pod's samples; pure: the caller reads the clock and the processes. */
export class StartActivity {
  #last: { at: number; busyNs: number } | undefined;
  #settled = false;

  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Feeds a sample: `busyNs` is the time the pod's processes have run or waited to run so far
   * (busyNanos), or undefined when it cannot be read (not spawned yet, no /proc): then the pod
   * is taken to be busy. Returns whether the start has settled (for good: a later burst of the
   * same pod does not take a slot back).
   */
  sample(at: number, busyNs: number | undefined): boolean {
    if (this.#settled) return true;
    if (busyNs === undefined) {
      this.#last = undefined;
      return false;
    }
    const last = this.#last;
    if (last === undefined || busyNs < last.busyNs) {
      this.#last = { at, busyNs }; // the first look, or other processes than before
      return false;
    }
    const elapsedMs = at - last.at;
    if (elapsedMs < QUIET_WINDOW_MS) return false; // too short a window to tell: keep the older look
    this.#last = { at, busyNs };
    this.#settled = (busyNs - last.busyNs) / 1e6 < QUIET_SHARE * elapsedMs;
    return this.#settled;
  }
}

/** Time on a core plus time waiting for one (ns) of one task, from /proc/<pid>/schedstat. */
function schedNanos(pid: number): number | undefined {
  try {
    const [running, waiting] = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ");
    const total = Number(running) + Number(waiting);
    return Number.isFinite(total) ? total : undefined;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter((field) => field !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Time the processes' main threads, and their children's, have run or waited to run (ns), from
 * Linux's /proc; undefined when any of them cannot be read (gone, or not Linux). Main threads
 * only: a Node process's start is its main thread's work, and reading every thread's file on
 * every look would cost more than it tells.
 */
export function busyNanos(pids: readonly number[]): number | undefined {
  let total = 0;
  const visit = (pid: number, depth: number): boolean => {
    const nanos = schedNanos(pid);
    if (nanos === undefined) return false;
    total += nanos;
    if (depth < MAX_DEPTH) for (const child of childrenOf(pid)) visit(child, depth + 1); // a child gone meanwhile counts nothing
    return true;
  };
  for (const pid of pids) if (!visit(pid, 0)) return undefined;
  return total;
}
