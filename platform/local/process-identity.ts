import { readFileSync } from "node:fs";

/**
 * A process is identified by its pid *and* its start time, so a pid the kernel has reused for
 * another process is never mistaken for (or signalled as) one of our pods.
 */
export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); undefined off Linux. */
  start: string | undefined;
}

export type ProcessState = "same" | "gone" | "other";

/** The start time of a running process; undefined when it is gone, a zombie, or off Linux. */
export function startTimeOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  return fields[19];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The identity of a process we just started. */
export function identify(pid: number): ProcessIdentity {
  return { pid, start: startTimeOf(pid) };
}

/**
 * Whether `identity` still names the same running process. On Linux only a matching start time
 * counts as "same"; elsewhere (no /proc) a live pid has to do.
 */
export function processState(identity: ProcessIdentity): ProcessState {
  if (process.platform !== "linux") return alive(identity.pid) ? "same" : "gone";
  // An identity without a start time (the process was already a zombie when identified) names
  // nothing we could still signal safely: its pid may since belong to another process (group).
  if (identity.start === undefined) return "gone";
  const start = startTimeOf(identity.pid);
  if (start === undefined) return "gone";
  return start === identity.start ? "same" : "other";
}

/**
 * Sends `signal` to the process (with `group`, to its whole process group: an app's own children
 * too) unless its pid now belongs to another process. Returns whether anything was signalled.
 */
export function signalProcess(identity: ProcessIdentity, signal: NodeJS.Signals, group = false): boolean {
  if (processState(identity) !== "same") return false;
  try {
    process.kill(group ? -identity.pid : identity.pid, signal);
    return true;
  } catch {
    try {
      process.kill(identity.pid, signal); // not a group leader after all
      return true;
    } catch {
      return false;
    }
  }
}

/** Resolves once the process has exited (true), or after `timeoutMs` (false). */
export async function waitGone(identity: ProcessIdentity, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processState(identity) === "same") {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}
