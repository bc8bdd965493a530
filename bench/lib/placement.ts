// Where the measured processes run. "shared" (the default): wherever the kernel puts them, beside
// the load tool and the app, as on a user's 2-core machine. "pinned": the processes of the target
// being measured on one CPU of their own, the load tool, the app and every other target's
// processes on the rest — a proxy with a core to itself, as the experiment behind issue 13's goals
// measured. The two answer different questions, so the report says which one a run used.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const PLACEMENTS = ["shared", "pinned"] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const isPlacement = (value: string): value is Placement =>
  (PLACEMENTS as readonly string[]).includes(value);

/** taskset's CPU list ("0-3,6") as CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new Error(`cannot read CPU list ${JSON.stringify(list)}`);
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The measured target's CPU (the last one allowed) and the rest's; needs two CPUs at least. */
export function splitCpus(allowed: number[]): { measured: string; rest: string } {
  if (allowed.length < 2)
    throw new Error(`pinned placement needs 2 CPUs; this process may use ${allowed.length}`);
  return { measured: String(allowed.at(-1)), rest: allowed.slice(0, -1).join(",") };
}

function affinity(pid: number): string {
  const out = execFileSync("taskset", ["-p", "-c", String(pid)], { encoding: "utf8" });
  const list = /affinity list:\s*(\S+)/.exec(out)?.[1];
  if (list === undefined) throw new Error(`cannot read taskset's answer: ${out.trim()}`);
  return list;
}

/** Every thread of each process onto `cpus`; a process that ended meanwhile is skipped. */
function pin(pids: number[], cpus: string): void {
  for (const pid of pids) {
    try {
      execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      if (!existsSync(`/proc/${pid}`)) continue; // gone: the round charges it as NaN anyway
      const why = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
      throw new Error(`pinned placement: cannot move process ${pid} to CPU ${cpus}: ${why}`);
    }
  }
}

/**
 * Pinned placement over a run: `start` moves this process (and so the load tool it spawns) to the
 * rest; `measure` gives one target's processes the measured CPU and moves every other process the
 * run started (`others()`: the app, other targets, the OTLP sink…) to the rest; `stop` gives all
 * CPUs back, so what runs next (paced latency, the cold burst) is not pinned.
 */
export class Pinning {
  readonly #all: string;
  readonly #cpus: { measured: string; rest: string };
  readonly #others: () => number[];

  constructor(others: () => number[]) {
    this.#all = affinity(process.pid);
    this.#cpus = splitCpus(parseCpuList(this.#all));
    this.#others = others;
  }

  describe(): string {
    return `the measured target's processes on CPU ${this.#cpus.measured}; the load tool and every other process the run started on ${this.#cpus.rest}`;
  }

  start(): void {
    pin([process.pid], this.#cpus.rest);
  }

  measure(targetPids: number[]): void {
    const mine = new Set(targetPids);
    pin(
      this.#others().filter((pid) => !mine.has(pid)),
      this.#cpus.rest,
    );
    pin(targetPids, this.#cpus.measured);
  }

  stop(): void {
    pin([process.pid, ...this.#others()], this.#all);
  }
}
