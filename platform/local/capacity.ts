/**
 * How many pods this machine runs, and which waiting pod starts next. Local pods are processes on
 * one machine: forking dozens of them on 2 cores makes every one of them (and the data path) slow,
 * so pods past the capacity wait as `pending`, as Kubernetes pods wait for a node. Pure: the local
 * platform passes in what it has and does what the answer says.
 */

export interface LocalCapacity {
  /** Pods that may exist at once (starting, ready, not ready or terminating): they hold memory. */
  maxPods: number;
  /**
   * Pods that may be starting at once. A start costs a burst of CPU (two processes loading their
   * code); on a small machine, starting two at a time makes each ready sooner than starting ten.
   * A starting pod whose processes sit idle (its app waits on something) holds no slot.
   */
  maxStarting: number;
}

/** An idle pod costs little CPU, so several share a core; this many per core by default. */
export const PODS_PER_CORE = 4;
/** What one pod (queue-proxy + a small Node app) takes, by default, for the memory bound. */
export const DEFAULT_POD_MEMORY_MB = 150;
/** Memory a capacity derived from the machine leaves to everything else. */
const MEMORY_HEADROOM = 0.2;

/**
 * The capacity of a machine with `cores` and `availableMemoryMb` free: PODS_PER_CORE per core,
 * and no more than fit in 80 % of the free memory at `podMemoryMb` each; starts, one per core.
 * Never below one pod, so that anything runs at all.
 */
export function machineCapacity(
  machine: { cores: number; availableMemoryMb: number },
  podMemoryMb = DEFAULT_POD_MEMORY_MB,
): LocalCapacity {
  const cores = Math.max(1, Math.floor(machine.cores));
  const byMemory = Math.floor((machine.availableMemoryMb * (1 - MEMORY_HEADROOM)) / podMemoryMb);
  const maxPods = Math.max(1, Math.min(cores * PODS_PER_CORE, byMemory));
  return { maxPods, maxStarting: Math.min(cores, maxPods) };
}

/** One revision as admission sees it. */
export interface RevisionSlots {
  key: string;
  /** Pods that hold a slot: starting, ready, not ready, terminating. */
  pods: number;
  /** Of those, the ones not terminating: what the revision has, for fairness. */
  live: number;
  /** Of those, the ones starting (never ready yet) and busy loading (start-load.ts): they hold a start slot. */
  starting: number;
  /** Pods waiting for a slot. */
  pending: number;
  /** When its oldest pending pod began to wait (ms): the tie-break, first come first served. */
  waitingSince: number;
}

export interface Admissions {
  /** Revision keys, one per pod to start now, in order (a key may appear more than once). */
  start: string[];
  /**
   * A revision one of whose pods should stop to make room for a revision that has far fewer
   * (see planAdmissions); its slot goes to whoever is first in line once the pod is gone.
   */
  preempt?: string;
}

/**
 * Which pending pods start now. Slots go one at a time to the revision with the fewest live pods
 * (then the one waiting longest): a revision at zero with requests waiting gets its first pod
 * before another revision gets its 30th, and revisions that all want more than there is end up
 * with even shares. When the machine is full, no pod is terminating (a slot about to free goes
 * to the first in line anyway) and the first in line has at least two pods fewer than the
 * revision with the most, one of that revision's pods is preempted: without it a revision at
 * zero would wait for the other one's scale-down, which a burst's panic mode holds off for a
 * minute — longer than its requests would wait.
 */
export function planAdmissions(capacity: LocalCapacity, revisions: readonly RevisionSlots[]): Admissions {
  const counts = new Map(revisions.map((r) => [r.key, { ...r }]));
  let used = 0;
  let starting = 0;
  let terminating = 0;
  for (const r of revisions) {
    used += r.pods;
    starting += r.starting;
    terminating += r.pods - r.live;
  }
  const firstInLine = () => {
    let best: RevisionSlots | undefined;
    for (const r of counts.values()) {
      if (r.pending === 0) continue;
      if (
        !best ||
        r.live < best.live ||
        (r.live === best.live &&
          (r.waitingSince < best.waitingSince || (r.waitingSince === best.waitingSince && r.key < best.key)))
      )
        best = r;
    }
    return best;
  };
  const start: string[] = [];
  while (used < capacity.maxPods && starting < capacity.maxStarting) {
    const next = firstInLine();
    if (!next) break;
    start.push(next.key);
    next.pending--;
    next.live++;
    next.pods++;
    used++;
    starting++;
  }
  if (used < capacity.maxPods || terminating > 0) return { start };
  const claimant = firstInLine();
  if (!claimant) return { start };
  let victim: RevisionSlots | undefined;
  for (const r of counts.values()) if (!victim || r.live > victim.live) victim = r;
  if (victim && victim.key !== claimant.key && victim.live >= claimant.live + 2)
    return { start, preempt: victim.key };
  return { start };
}
