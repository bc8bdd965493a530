// The command line shared by every benchmark: parsed and checked once, in one place.
import { parseArgs } from "node:util";
import { type LoadTool, pickLoadTool } from "./load.ts";

export interface BenchOptions {
  /** Measured seconds per target and client count, split over `rounds`. */
  seconds: number;
  /** Targets take turns this many times; each figure is the median round. */
  rounds: number;
  warmupSeconds: number;
  connections: number[];
  load: LoadTool;
}

export const OPTIONS_USAGE = `options:
  --duration S      measured seconds per target and client count (default 10)
  --rounds N        split the duration into N interleaved rounds, report the median (default 3)
  --warmup S        seconds of warm-up per target and client count (default 2)
  --connections L   comma-separated client counts (default 8,64)
  --load TOOL       wrk or autocannon (default: wrk when installed, it measures µs and costs
                    little CPU; autocannon runs in this process and rounds latency to whole ms)
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
        duration: { type: "string", default: "10" },
        rounds: { type: "string", default: "3" },
        warmup: { type: "string", default: "2" },
        connections: { type: "string", default: "8,64" },
        load: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const seconds = Number(values.duration);
  const rounds = Number(values.rounds);
  const warmupSeconds = Number(values.warmup);
  const connections = String(values.connections).split(",").map(Number);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300)
    throw new UsageError(`--duration ${values.duration}: expected 1 to 300 seconds`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > seconds)
    throw new UsageError(`--rounds ${values.rounds}: expected a whole number from 1 to the duration`);
  if (!Number.isFinite(warmupSeconds) || warmupSeconds < 0 || warmupSeconds > 60)
    throw new UsageError(`--warmup ${values.warmup}: expected 0 to 60 seconds`);
  if (connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1000))
    throw new UsageError(`--connections ${values.connections}: expected numbers from 1 to 1000`);
  let load: LoadTool;
  try {
    load = pickLoadTool(values.load as string | undefined);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    names: positionals,
    help: values.help === true,
    options: { seconds, rounds, warmupSeconds, connections, load },
  };
}

/** Whole seconds per round (wrk takes whole seconds), at least 1. */
export function roundSeconds(options: BenchOptions): number {
  return Math.max(1, Math.round(options.seconds / options.rounds));
}
