// Side-by-side measurement: several ways of reaching the same app, loaded in turns, each charged
// with the CPU and memory of its own process.
import { type LoadResult, runLoad } from "./load.ts";
import { type BenchOptions, roundSeconds } from "./options.ts";
import { cpuMicros, memoryMb, processTree } from "./proc.ts";
import { median } from "./stats.ts";
import { fixed, printTable } from "./table.ts";

/** One way of reaching the app, measured side by side with the others. */
export interface Target {
  name: string;
  url: string;
  /** The process whose CPU and memory are this target's cost (the proxy; the app for "direct"). */
  pid: number;
  /** Count the whole process tree (nginx's workers). */
  tree?: boolean;
  /** Request headers (the router routes by Host). */
  headers?: Record<string, string>;
  /** Other processes on the path whose CPU is measured over the same rounds, by label. */
  alsoMeasure?: Record<string, number>;
}

export interface Round extends LoadResult {
  cpuMicrosPerRequest: number;
  alsoMicrosPerRequest: Record<string, number>;
}

/** One target at one client count: the median of its rounds, memory after the last. */
export interface Measurement extends LoadResult {
  target: string;
  connections: number;
  cpuMicrosPerRequest: number;
  /** The lowest and highest CPU µs/req over the rounds: how noisy the figure is. */
  cpuRange: [number, number];
  rssMb: number;
  privateMb: number;
  /** CPU µs/req of the `alsoMeasure` processes (median round). */
  alsoCpuMicrosPerRequest: Record<string, number>;
  rounds: Round[];
}

function pids(target: Target): number[] {
  return target.tree ? processTree(target.pid) : [target.pid];
}

function targetCpu(target: Target): number {
  return pids(target).reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

export function targetMemory(target: Target): { rss: number; private: number } {
  return pids(target)
    .map(memoryMb)
    .reduce((sum, m) => ({ rss: sum.rss + m.rss, private: sum.private + m.private }));
}

export function idleMemory(targets: Target[]): Record<string, { rss: number; private: number }> {
  return Object.fromEntries(targets.map((target) => [target.name, targetMemory(target)]));
}

/**
 * At each client count: warms every target, then runs `rounds` rounds in which the targets take
 * turns. Interleaving and taking the median round keeps a burst of noise on a shared 2-core
 * machine (another process, a GC, a frequency change) from deciding a comparison.
 */
export async function measureAll(targets: Target[], options: BenchOptions): Promise<Measurement[]> {
  const seconds = roundSeconds(options);
  const results: Measurement[] = [];
  for (const connections of options.connections) {
    process.stderr.write(`${connections} connections: warm-up`);
    if (options.warmupSeconds > 0)
      for (const target of targets)
        await runLoad(options.load, target.url, connections, options.warmupSeconds, target.headers);
    const rounds = new Map<Target, Round[]>(targets.map((target) => [target, []]));
    for (let round = 1; round <= options.rounds; round++) {
      process.stderr.write(`, round ${round}`);
      for (const target of targets) {
        const also = Object.entries(target.alsoMeasure ?? {});
        const before = targetCpu(target);
        const alsoBefore = also.map(([, pid]) => cpuMicros(pid));
        const load = await runLoad(options.load, target.url, connections, seconds, target.headers);
        const cpu = targetCpu(target) - before;
        const alsoMicrosPerRequest = Object.fromEntries(
          also.map(([label, pid], i) => [label, (cpuMicros(pid) - alsoBefore[i]) / load.requests]),
        );
        rounds.get(target)?.push({ ...load, cpuMicrosPerRequest: cpu / load.requests, alsoMicrosPerRequest });
      }
    }
    process.stderr.write("\n");
    for (const target of targets) {
      const runs = rounds.get(target) ?? [];
      const memory = targetMemory(target);
      const cpu = runs.map((r) => r.cpuMicrosPerRequest);
      results.push({
        target: target.name,
        connections,
        requests: runs.reduce((sum, r) => sum + r.requests, 0),
        requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        cpuMicrosPerRequest: median(cpu),
        cpuRange: [Math.min(...cpu), Math.max(...cpu)],
        rssMb: memory.rss,
        privateMb: memory.private,
        alsoCpuMicrosPerRequest: Object.fromEntries(
          Object.keys(target.alsoMeasure ?? {}).map((label) => [
            label,
            median(runs.map((r) => r.alsoMicrosPerRequest[label])),
          ]),
        ),
        rounds: runs,
      });
    }
  }
  return results;
}

/**
 * Prints one table per client count. Ratios: CPU per request against the floor (the bare
 * forwarder) and nginx, and p99 latency added to the app's own.
 */
export function report(
  results: Measurement[],
  idle: Record<string, { rss: number }>,
  references: { floor: string; nginx?: string },
): void {
  for (const connections of new Set(results.map((r) => r.connections))) {
    const rows = results.filter((r) => r.connections === connections);
    const find = (name: string | undefined) => rows.find((r) => r.target === name);
    const direct = find("direct");
    const floor = find(references.floor);
    const nginx = find(references.nginx);
    const ratio = (r: Measurement, to: Measurement | undefined) =>
      to && r !== direct ? fixed(r.cpuMicrosPerRequest / to.cpuMicrosPerRequest) : "-";
    console.log(`\n${connections} connections`);
    printTable(
      [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "+p99 ms",
        "CPU µs/req",
        "(range)",
        `× ${references.floor}`,
        "× nginx",
        "RSS idle",
        "RSS load",
        "errors",
      ],
      rows.map((r) => [
        r.target,
        Math.round(r.requestsPerSecond),
        fixed(r.p50Ms, 3),
        fixed(r.p99Ms, 3),
        direct && r !== direct ? fixed(r.p99Ms - direct.p99Ms, 3) : "-",
        fixed(r.cpuMicrosPerRequest, 1),
        `${fixed(r.cpuRange[0], 0)}–${fixed(r.cpuRange[1], 0)}`,
        ratio(r, floor),
        ratio(r, nginx),
        fixed(idle[r.target]?.rss ?? Number.NaN, 0),
        fixed(r.rssMb, 0),
        r.errors,
      ]),
    );
  }
}

/**
 * The whole side-by-side run: memory at rest, the announcement of how it is loaded, every round,
 * and the tables against the floor and nginx.
 */
export async function compareTargets(
  targets: Target[],
  options: BenchOptions,
  references: { floor: string; nginx?: string },
): Promise<{ idle: ReturnType<typeof idleMemory>; results: Measurement[] }> {
  const idle = idleMemory(targets);
  console.log(
    `load: ${options.load} on 127.0.0.1; per target and client count ${options.warmupSeconds} s warm-up, ` +
      `then ${options.rounds} interleaved rounds of ${roundSeconds(options)} s (figures: median round)`,
  );
  const results = await measureAll(targets, options);
  report(results, idle, references);
  return { idle, results };
}
