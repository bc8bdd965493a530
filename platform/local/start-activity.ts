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

/** What one look at a pod's processes found (busyLook). */
export interface Look {
  /** Time they have run or waited to run so far (ns). */
  nanos: number;
  /** Whether one of them is running or waiting for a core (or for the disk) right now. */
  active: boolean;
}

/** One starting pod's samples; pure: the caller reads the clock and the processes. */
export class StartActivity {
  #last: { at: number; nanos: number } | undefined;
  #settled = false;

  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Feeds a look at the pod's processes (busyLook), or undefined when they cannot be read (not
   * spawned yet, no /proc): then the pod is taken to be busy. Returns whether the start has
   * settled — for good: a later burst of the same pod does not take a slot back.
   */
  sample(at: number, look: Look | undefined): boolean {
    if (this.#settled) return true;
    const last = this.#last;
    if (look === undefined || last === undefined || look.nanos < last.nanos) {
      // Unreadable, the first look, or other processes than before: a window starts now.
      this.#last = look && { at, nanos: look.nanos };
      return false;
    }
    const elapsedMs = at - last.at;
    if (elapsedMs < QUIET_WINDOW_MS) return false; // too short a window to tell: keep the older look
    this.#last = { at, nanos: look.nanos };
    // A process waiting for a core has its wait counted only once it runs: one that is runnable
    // now is busy whatever the counters say.
    this.#settled = !look.active && (look.nanos - last.nanos) / 1e6 < QUIET_SHARE * elapsedMs;
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

/** Whether a process's main thread runs or waits to (R), or waits for the disk (D). */
function activeNow(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat[stat.lastIndexOf(")") + 2];
    return state === "R" || state === "D";
  } catch {
    return false;
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
 * A look at the processes' main threads and their children's, from Linux's /proc: undefined
 * when any of the processes cannot be read (gone, or not Linux). Main threads only: a Node
 * process's start is its main thread's work, and reading every thread's files on every look
 * would cost more than it tells.
 */
export function busyLook(pids: readonly number[]): Look | undefined {
  const look: Look = { nanos: 0, active: false };
  const visit = (pid: number, depth: number): boolean => {
    const nanos = schedNanos(pid);
    if (nanos === undefined) return false;
    look.nanos += nanos;
    look.active ||= activeNow(pid);
    if (depth < MAX_DEPTH) for (const child of childrenOf(pid)) visit(child, depth + 1); // a child gone meanwhile counts nothing
    return true;
  };
  for (const pid of pids) if (!visit(pid, 0)) return undefined;
  return look;
}
