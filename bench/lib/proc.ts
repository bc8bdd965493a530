import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { statCpuTicks, ticksToMicros } from "./cpu.ts";

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in microseconds. */
export function cpuMicros(pid: number): number {
  return ticksToMicros(statCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8")), TICKS_PER_SECOND);
}

/** Resident memory (VmRSS) and private memory (what this process alone costs), in MB. */
export function memoryMb(pid: number): { rss: number; private: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0) / 1024;
  return { rss: field("Rss"), private: field("Private_Dirty") + field("Private_Clean") };
}

/** A process and all its descendants (nginx's master and workers). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}
