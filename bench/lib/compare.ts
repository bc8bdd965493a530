import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type LoadResult, type LoadTool, runLoad } from "./load.ts";
import { cpuMicros, memoryMb, processTree } from "./proc.ts";
import { fixed, printTable } from "./table.ts";

/** One way of reaching the app, measured side by side with the others. */
export interface Target {
  name: string;
  url: string;
  /** The process whose CPU and memory are this target's cost (the proxy; the app for "direct"). */
  pid: number;
  /** Count the whole process tree (nginx's workers). */
  tree?: boolean;
}

export interface Measurement extends LoadResult {
  target: string;
  connections: number;
  cpuMicrosPerRequest: number;
  rssMb: number;
  privateMb: number;
}

export interface CompareOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number[];
  load: LoadTool;
}

function treeCpu(target: Target): number {
  const pids = target.tree ? processTree(target.pid) : [target.pid];
  return pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

function treeMemory(target: Target): { rss: number; private: number } {
  const pids = target.tree ? processTree(target.pid) : [target.pid];
  return pids.map(memoryMb).reduce((sum, m) => ({ rss: sum.rss + m.rss, private: sum.private + m.private }));
}

export function idleMemory(targets: Target[]): Record<string, { rss: number; private: number }> {
  return Object.fromEntries(targets.map((target) => [target.name, treeMemory(target)]));
}

/** Loads each target in turn at each concurrency and measures its process's CPU per request. */
export async function measureAll(targets: Target[], options: CompareOptions): Promise<Measurement[]> {
  const results: Measurement[] = [];
  for (const connections of options.connections) {
    for (const target of targets) {
      process.stderr.write(`  ${target.name} at ${connections} connections… `);
      await runLoad(options.load, target.url, connections, options.warmupSeconds);
      const before = treeCpu(target);
      const load = await runLoad(options.load, target.url, connections, options.seconds);
      const cpu = treeCpu(target) - before;
      const memory = treeMemory(target);
      results.push({
        ...load,
        target: target.name,
        connections,
        cpuMicrosPerRequest: cpu / load.requests,
        rssMb: memory.rss,
        privateMb: memory.private,
      });
      process.stderr.write(`${Math.round(load.requestsPerSecond)} req/s\n`);
    }
  }
  return results;
}

/** Prints one table per concurrency, with ratios to the references that ran. */
export function report(
  results: Measurement[],
  subject: string,
  references: { floor: string; nginx?: string },
): void {
  for (const connections of new Set(results.map((r) => r.connections))) {
    const rows = results.filter((r) => r.connections === connections);
    const find = (name: string | undefined) => rows.find((r) => r.target === name);
    const direct = find("direct");
    const floor = find(references.floor);
    const nginx = find(references.nginx);
    console.log(`\n${connections} connections`);
    printTable(
      [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "+p99 ms",
        "CPU µs/req",
        `× ${references.floor}`,
        "× nginx",
        "RSS MB",
        "private MB",
        "errors",
      ],
      rows.map((r) => [
        r.target,
        Math.round(r.requestsPerSecond),
        fixed(r.p50Ms, 3),
        fixed(r.p99Ms, 3),
        direct && r !== direct ? fixed(r.p99Ms - direct.p99Ms, 3) : "-",
        fixed(r.cpuMicrosPerRequest, 1),
        floor && r !== direct ? fixed(r.cpuMicrosPerRequest / floor.cpuMicrosPerRequest) : "-",
        nginx && r !== direct ? fixed(r.cpuMicrosPerRequest / nginx.cpuMicrosPerRequest) : "-",
        fixed(r.rssMb, 0),
        fixed(r.privateMb, 0),
        r.errors,
      ]),
    );
  }
  console.log(
    `\nCPU µs/req is the CPU time of the ${subject}'s process (the app's for "direct") over the run,`,
  );
  console.log("divided by the requests completed; +p99 is the added 99th percentile latency against direct.");
}

export function saveResults(name: string, data: unknown): string {
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}-${new Date().toISOString().replaceAll(":", "-")}.json`;
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
