// Side-by-side measurement: several ways of reaching the same app, loaded in turns, each charged
// with the CPU and memory of the processes on its path (never the app's, except for "direct").
import { type CpuSnapshot, cpuPerRequest, sumCpu } from "./cpu.ts";
import type { DataPath } from "./data-path.ts";
import { type LoadResult, runLoad } from "./load.ts";
import { type BenchOptions, roundSeconds } from "./options.ts";
import type { Pinning } from "./placement.ts";
import { cpuMicros, memoryMb, processTree } from "./proc.ts";
import { median } from "./stats.ts";

/** A process on a target's path whose CPU and memory the target is charged with. */
export interface PathProcess {
  /** "router", "activator", "queue-proxy", "nginx", "app"… */
  label: string;
  pid: number;
  /** Count the whole process tree (nginx's master and workers). */
  tree?: boolean;
}

/** One way of reaching the app, measured side by side with the others. */
export interface Target {
  /** Unique in a run: "serve [raw]". */
  name: string;
  /** The scenario family that added it ("reference", "router", "serve"…). */
  family: string;
  /** The data path its sluice processes run; none for references. */
  path?: DataPath;
  url: string;
  /** Request headers (the router routes by Host). */
  headers?: Record<string, string>;
  /** The processes a request crosses, the first hop first: its CPU is "own", the sum "path". */
  processes: PathProcess[];
}

export interface Round extends LoadResult {
  /** CPU µs per request of each process over this round. */
  cpuMicrosPerRequest: CpuSnapshot;
}

/** One target at one client count: the median of its rounds, memory after the last. */
export interface Measurement extends LoadResult {
  target: string;
  family: string;
  path?: DataPath;
  connections: number;
  /** CPU µs/req of each process (median round, per process). */
  cpu: CpuSnapshot;
  /** CPU µs/req of the first hop (median round). */
  ownCpu: number;
  /** CPU µs/req of every process on the path together (median round of the sums). */
  pathCpu: number;
  /** The lowest and highest path CPU µs/req over the rounds: how noisy the figure is. */
  pathCpuRange: [number, number];
  /** RSS of each process after the last round, MB. */
  rssMb: Record<string, number>;
  rounds: Round[];
}

function pidsOf(process: PathProcess): number[] {
  return process.tree ? processTree(process.pid) : [process.pid];
}

const targetPids = (target: Target) => target.processes.flatMap(pidsOf);

/** `read` summed over a process (or its tree); NaN once it is gone, so one crash is a gap, not the end of the run. */
function sumOver(process: PathProcess, read: (pid: number) => number): number {
  try {
    return pidsOf(process).reduce((sum, pid) => sum + read(pid), 0);
  } catch {
    return Number.NaN;
  }
}

function cpuSnapshot(target: Target): CpuSnapshot {
  return Object.fromEntries(target.processes.map((p) => [p.label, sumOver(p, cpuMicros)]));
}

/** RSS in MB of each process on a target's path (a tree summed). */
export function rssOf(target: Target): Record<string, number> {
  return Object.fromEntries(target.processes.map((p) => [p.label, sumOver(p, (pid) => memoryMb(pid).rss)]));
}

/** One round of one target: its load, and the CPU each process on its path used meanwhile. */
async function measureRound(
  target: Target,
  options: BenchOptions,
  connections: number,
  seconds: number,
): Promise<Round> {
  const before = cpuSnapshot(target);
  const load = await runLoad(options.load, target.url, connections, seconds, target.headers);
  return { ...load, cpuMicrosPerRequest: cpuPerRequest(before, cpuSnapshot(target), load.requests) };
}

/** The median round of each figure, memory now. */
export function summarizeRounds(
  target: Target,
  connections: number,
  rounds: Round[],
  rssMb: Record<string, number>,
): Measurement {
  const pathCpus = rounds.map((r) => sumCpu(r.cpuMicrosPerRequest));
  const labels = target.processes.map((p) => p.label);
  const cpu = Object.fromEntries(
    labels.map((label) => [label, median(rounds.map((r) => r.cpuMicrosPerRequest[label]))]),
  );
  return {
    target: target.name,
    family: target.family,
    path: target.path,
    connections,
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    cpu,
    ownCpu: cpu[labels[0]],
    pathCpu: median(pathCpus),
    pathCpuRange: [Math.min(...pathCpus), Math.max(...pathCpus)],
    rssMb,
    rounds,
  };
}

/**
 * At each client count: warms every target, then runs `rounds` rounds in which the targets take
 * turns (A B C, A B C, …). Interleaving and taking the median round keeps a burst of noise on a
 * shared 2-core machine (another process, a GC, a frequency change) from deciding a comparison.
 * With `pinning`, each target gets the measured CPU for its turn (placement.ts).
 */
export async function measureAll(
  targets: Target[],
  options: BenchOptions,
  pinning?: Pinning,
): Promise<Measurement[]> {
  const seconds = roundSeconds(options);
  const results: Measurement[] = [];
  const turnOf = (target: Target) => pinning?.measure(targetPids(target));
  pinning?.start();
  try {
    for (const connections of options.connections) {
      process.stderr.write(`${connections} connections: warm-up`);
      if (options.warmupSeconds > 0)
        for (const target of targets) {
          turnOf(target);
          await runLoad(options.load, target.url, connections, options.warmupSeconds, target.headers);
        }
      const rounds = new Map<Target, Round[]>(targets.map((target) => [target, []]));
      for (let round = 1; round <= options.rounds; round++) {
        process.stderr.write(`, round ${round}`);
        for (const target of targets) {
          turnOf(target);
          rounds.get(target)?.push(await measureRound(target, options, connections, seconds));
        }
      }
      process.stderr.write("\n");
      for (const target of targets)
        results.push(summarizeRounds(target, connections, rounds.get(target) ?? [], rssOf(target)));
    }
  } finally {
    pinning?.stop();
  }
  return results;
}
