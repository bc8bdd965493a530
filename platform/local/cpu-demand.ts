import { readdirSync, readFileSync } from "node:fs";

/** At most this many processes of one tree are read (a fork bomb is not followed to its end). */
const MAX_PROCESSES = 64;

/**
 * What a process and its descendants have wanted of the CPU so far, in ms: the time each of their
 * threads ran plus the time it waited to run (/proc/<pid>/task/<tid>/schedstat, ns). Waiting
 * counts: a start starved by others still needs the CPU. Descendants count because an app
 * started through `sh -c` or `npm start` loads its code in a grandchild. Undefined when the root
 * is gone, or its figures cannot be had (off Linux, a kernel without schedstat, or one that
 * keeps them at 0): then nobody can tell a pod waiting from one loading.
 */
export function cpuDemandMs(rootPid: number): number | undefined {
  const pids = [rootPid];
  let ns = 0;
  for (let i = 0; i < pids.length && i < MAX_PROCESSES; i++) {
    const own = threadsDemandNs(pids[i]);
    if (own === undefined || (i === 0 && own === 0)) {
      if (i === 0) return undefined; // a running process has used some CPU: 0 means no figures
      continue; // a descendant gone meanwhile
    }
    ns += own;
    pids.push(...childrenOf(pids[i]));
  }
  return ns / 1e6;
}

/** The run and wait time of every thread of the process, ns; undefined when it is gone or no thread's could be read. */
function threadsDemandNs(pid: number): number | undefined {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  let read = false;
  for (const tid of threads) {
    try {
      // "<ns on the CPU> <ns waiting on a run queue> <timeslices>"
      const [ran, waited] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
      ns += Number(ran) + Number(waited);
      read = true;
    } catch {
      // a thread that ended meanwhile (or no schedstat at all: then none is read)
    }
  }
  return read ? ns : undefined;
}

/** The process's children (those its main thread forked: a shell's, npm's, node's spawns). */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}
