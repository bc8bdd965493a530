// The command line shared by every benchmark: parsed and checked once, in one place.
import { parseArgs } from "node:util";
import { DATA_PATHS, type DataPath, isDataPath } from "./data-path.ts";
import { type LoadTool, pickLoadTool } from "./load.ts";
import { isPlacement, PLACEMENTS, type Placement } from "./placement.ts";

export interface BenchOptions {
  /** Measured seconds per target and client count, split over `rounds`. */
  seconds: number;
  /** Targets take turns this many times; each figure is the median round. */
  rounds: number;
  warmupSeconds: number;
  connections: number[];
  load: LoadTool;
  /** The data paths sluice's processes run, each its own set of processes (SLUICE_DATA_PATH). */
  paths: DataPath[];
  /** Also measure latency below saturation (8 clients, 1,000 req/s in all). */
  paced: boolean;
  /** The start-up family's long-idle sample, seconds; 0: none. */
  longIdleSeconds: number;
  /** Where the measured processes run while loaded (placement.ts). */
  placement: Placement;
  /** Cold bursts run, each on a fresh sluice up; the figure is their median p99. */
  burstRuns: number;
}

/** The defaults, and the shorter ones of the "quick" preset (any option given still wins). */
export const DEFAULTS = {
  duration: "15",
  rounds: "5",
  warmup: "2",
  connections: "8,64",
  "long-idle": "60",
  "burst-runs": "3",
};
export const QUICK_DEFAULTS = {
  duration: "2",
  rounds: "2",
  warmup: "1",
  connections: "8,64",
  "long-idle": "0",
  "burst-runs": "1",
};

export const OPTIONS_USAGE = `options:
  --duration S      measured seconds per target and client count (default 15)
  --rounds N        split the duration into N interleaved rounds, report the median (default 5)
  --warmup S        seconds of warm-up per target and client count (default 2)
  --connections L   comma-separated client counts (default 8,64)
  --load TOOL       wrk or autocannon (default: wrk when installed, it measures µs and costs
                    little CPU; autocannon runs in this process and rounds latency to whole ms)
  --paths L         data paths of sluice's processes, SLUICE_DATA_PATH (default node,raw)
  --placement P     shared: the measured processes run wherever the kernel puts them, beside
                    wrk and the app (default); pinned: each target's processes on a CPU of
                    their own, wrk, the app and the rest on the others (placement.ts)
  --paced           also measure latency below saturation (8 clients, 1,000 req/s in all)
  --long-idle S     startup: also one queue-proxy per path left idle S seconds, then its RSS
                    (default 60, past the first optimizing compile its own probes bring on;
                    quick: 0, none)
  --burst-runs N    burst: runs, each on a fresh sluice up; the goal is judged on their median
                    p99, every run shown (default 3; quick: 1)
  -h, --help        this text`;

export class UsageError extends Error {}

/** Benchmark names and options from argv; throws UsageError on anything it cannot use. */
export function parseBenchArgs(args: string[]): { names: string[]; help: boolean; options: BenchOptions } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        duration: { type: "string" },
        rounds: { type: "string" },
        warmup: { type: "string" },
        connections: { type: "string" },
        load: { type: "string" },
        paths: { type: "string", default: DATA_PATHS.join(",") },
        paced: { type: "boolean", default: false },
        placement: { type: "string", default: "shared" },
        "long-idle": { type: "string" },
        "burst-runs": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { positionals } = parsed;
  const values: Record<string, string | boolean | undefined> = {
    ...(positionals.includes("quick") ? QUICK_DEFAULTS : DEFAULTS),
    ...(parsed.values as Record<string, string | boolean | undefined>),
  };
  const seconds = Number(values.duration);
  const rounds = Number(values.rounds);
  const warmupSeconds = Number(values.warmup);
  const connections = String(values.connections).split(",").map(Number);
  const longIdleSeconds = Number(values["long-idle"]);
  const burstRuns = Number(values["burst-runs"]);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300)
    throw new UsageError(`--duration ${values.duration}: expected 1 to 300 seconds`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > seconds)
    throw new UsageError(`--rounds ${values.rounds}: expected a whole number from 1 to the duration`);
  if (!Number.isFinite(warmupSeconds) || warmupSeconds < 0 || warmupSeconds > 60)
    throw new UsageError(`--warmup ${values.warmup}: expected 0 to 60 seconds`);
  if (!Number.isFinite(longIdleSeconds) || longIdleSeconds < 0 || longIdleSeconds > 600)
    throw new UsageError(`--long-idle ${values["long-idle"]}: expected 0 to 600 seconds`);
  if (!Number.isInteger(burstRuns) || burstRuns < 1 || burstRuns > 10)
    throw new UsageError(`--burst-runs ${values["burst-runs"]}: expected a whole number from 1 to 10`);
  if (connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1000))
    throw new UsageError(`--connections ${values.connections}: expected numbers from 1 to 1000`);
  const paths = String(values.paths).split(",");
  const badPath = paths.find((path) => !isDataPath(path));
  if (badPath !== undefined || paths.length === 0 || new Set(paths).size !== paths.length)
    throw new UsageError(`--paths ${values.paths}: expected some of ${DATA_PATHS.join(",")}, each once`);
  const placement = String(values.placement);
  if (!isPlacement(placement))
    throw new UsageError(`--placement ${placement}: expected ${PLACEMENTS.join(" or ")}`);
  let load: LoadTool;
  try {
    load = pickLoadTool(values.load as string | undefined);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    names: positionals,
    help: values.help === true,
    options: {
      seconds,
      rounds,
      warmupSeconds,
      connections,
      load,
      paths: paths as DataPath[],
      paced: values.paced === true,
      longIdleSeconds,
      placement,
      burstRuns,
    },
  };
}

/** Whole seconds per round (wrk takes whole seconds), at least 1. */
export function roundSeconds(options: BenchOptions): number {
  return Math.max(1, Math.round(options.seconds / options.rounds));
}
