import type { ProcessIdentity, ProcessState } from "../platform/local/process-identity.ts";

/**
 * Whose the autoscaler's lock on its state directory is, and whether it still counts. Two
 * autoscalers on one state directory would fight over it: the second adopts (or, restoring
 * nothing, kills) the first one's pods and renews the same lease. The lock file names its holder
 * by pid and start time, so a lock left by a dead process, or by one whose pid is now another
 * process's, is taken over rather than believed.
 */

/** The lock file's content for `holder`: `<pid> <start time>` ("-" without a start time). */
export function formatLockHolder(holder: ProcessIdentity): string {
  return `${holder.pid} ${holder.start ?? "-"}\n`;
}

/** The holder a lock file names; undefined when its content is not a lock's (empty, garbled). */
export function parseLockHolder(text: string): ProcessIdentity | undefined {
  const match = /^(\d+) (\d+|-)\n?$/.exec(text);
  if (!match) return undefined;
  const pid = Number(match[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, start: match[2] === "-" ? undefined : match[2] };
}

export interface FoundLock {
  /** Whom the file names; undefined when its content is not a lock's. */
  holder: ProcessIdentity | undefined;
  /** Whether that holder is still the process that wrote the lock (see processState). */
  holderState: ProcessState | undefined;
  /** How long ago the file was last written. */
  ageMs: number;
}

/** A lock file this young with no holder in it yet may be one being written right now. */
export const UNWRITTEN_LOCK_GRACE_MS = 2_000;

export type LockVerdict =
  /** A live autoscaler holds it: refuse to start. */
  | { action: "refuse"; pid: number }
  /** Its holder is gone (or its pid reused): take it over. */
  | { action: "take-over" }
  /** Created but not written yet: look again shortly. */
  | { action: "wait" };

/** What to do about a lock file found in the state directory, as the process `ownPid`. */
export function lockVerdict(found: FoundLock, ownPid: number): LockVerdict {
  const { holder } = found;
  if (holder === undefined)
    return found.ageMs < UNWRITTEN_LOCK_GRACE_MS ? { action: "wait" } : { action: "take-over" };
  // Our own pid in a lock we do not hold yet: an earlier process that had it (a container's pid 1).
  if (holder.pid === ownPid) return { action: "take-over" };
  return found.holderState === "same" ? { action: "refuse", pid: holder.pid } : { action: "take-over" };
}

/** Why an autoscaler refuses to start on a locked state directory. */
export function lockRefusal(pid: number, stateDir: string): string {
  return `another autoscaler (pid ${pid}) uses the state directory ${stateDir}; stop it or use --state-dir (SLUICE_STATE_DIR) to run a second one`;
}
