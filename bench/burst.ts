// The cold burst of issue 13 (300 requests to a revision at zero, containerConcurrency 4, an app
// that boots in 300 ms and answers in 20 ms). The scenario itself lives in bench/cold-burst.ts
// (runColdBurst), written apart; this runs it with its own defaults when it is in the tree, as many
// times as asked, and reads their p99s (ms) for the goals. When it is not, the run says so: no
// figure is made up in its place.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BurstFigures } from "./lib/goals.ts";

const COLD_BURST = new URL("./cold-burst.ts", import.meta.url);

/** The first finite number under a key naming a p99 in milliseconds, searched breadth-first. */
export function findP99Ms(result: unknown): number | undefined {
  const queue: unknown[] = [result];
  while (queue.length > 0) {
    const value = queue.shift();
    if (typeof value !== "object" || value === null) continue;
    for (const [key, inner] of Object.entries(value)) {
      if (/^p99(ms)?$/i.test(key) && typeof inner === "number" && Number.isFinite(inner)) return inner;
      if (/^p99s$/i.test(key) && typeof inner === "number" && Number.isFinite(inner)) return inner * 1000;
    }
    queue.push(...Object.values(value));
  }
  return undefined;
}

/** One line of what runColdBurst reported: its scalar figures, then its statuses. */
export function burstText(result: unknown): string {
  if (typeof result !== "object" || result === null) return String(result);
  const scalars = Object.entries(result)
    .filter(([, value]) => typeof value === "number" || typeof value === "string")
    .map(([key, value]) => `${key} ${value}`);
  const statuses = (result as { statuses?: Record<string, number> }).statuses;
  const codes = statuses ? Object.entries(statuses).map(([code, count]) => `${count}× ${code}`) : [];
  const failures = (result as { firstFailure?: Record<string, string> }).firstFailure ?? {};
  const firsts = Object.entries(failures).map(([code, first]) => `first ${code}: ${first}`);
  return [...scalars, ...(codes.length > 0 ? [`statuses ${codes.join(", ")}`] : []), ...firsts].join(", ");
}

/**
 * The middle value, the upper one of an even count: a pass/fail goal judged on two runs must not
 * be judged on the better one.
 */
function upperMedian(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** A run that threw, as saved with the others. */
interface FailedRun {
  error: string;
}

/**
 * The burst's figures over several runs: the median p99 (what the goal is judged on, as the load
 * figures are median rounds), every run's p99, and the requests not answered 200 in any run (sent
 * but not counted among the statuses included). A run that failed, or reported no p99 or no
 * statuses, leaves the p99 not measured, naming the run, and keeps the other runs' failures.
 */
export function burstFigures(results: readonly unknown[]): BurstFigures {
  const runs = results.length;
  const runsP99Ms: number[] = [];
  let failed = 0;
  let missing: string | undefined;
  for (const [index, result] of results.entries()) {
    const run = index + 1;
    if (typeof result === "object" && result !== null && "error" in result) {
      missing ??= `run ${run} failed: ${(result as FailedRun).error}`;
      continue;
    }
    const { requests, statuses } = (result ?? {}) as { requests?: number; statuses?: Record<string, number> };
    if (statuses === undefined) missing ??= `run ${run} reported no statuses`;
    else {
      let counted = 0;
      for (const [code, count] of Object.entries(statuses)) {
        counted += count;
        if (code !== "200") failed += count;
      }
      if (typeof requests === "number" && counted < requests) failed += requests - counted;
    }
    const p99 = findP99Ms(result);
    if (p99 === undefined) missing ??= `run ${run} reported no p99`;
    else runsP99Ms.push(p99);
  }
  if (missing !== undefined) return { missing, runs, failed };
  return { p99Ms: upperMedian(runsP99Ms), runsP99Ms, failed };
}

/**
 * `runs` cold bursts, one after the other, each on a fresh sluice up. A run that throws is kept
 * as its error, and the runs after it still go: what was measured is saved either way.
 */
export async function benchBurst(runs = 1): Promise<{ figures: BurstFigures; results?: unknown[] }> {
  if (!existsSync(fileURLToPath(COLD_BURST))) {
    const missing = "TODO: bench/cold-burst.ts (runColdBurst) is not in the tree yet; not measured";
    console.log(`\ncold burst: ${missing}`);
    return { figures: { missing } };
  }
  // A computed specifier: the file is someone else's and may not exist when this is type-checked.
  const module = (await import(COLD_BURST.href)) as {
    runColdBurst?: (options: { log?: (line: string) => void }) => Promise<unknown>;
  };
  if (typeof module.runColdBurst !== "function") {
    const missing = "bench/cold-burst.ts exports no runColdBurst; not measured";
    console.log(`\ncold burst: ${missing}`);
    return { figures: { missing } };
  }
  console.log(
    `\ncold burst (bench/cold-burst.ts, its defaults: 300 requests at zero through sluice up), ${runs} run${runs === 1 ? "" : "s"}:`,
  );
  const results: unknown[] = [];
  for (let run = 1; run <= runs; run++) {
    try {
      const result = await module.runColdBurst({ log: (line) => console.log(`  ${line}`) });
      console.log(`  run ${run}: ${burstText(result)}`);
      results.push(result);
    } catch (error) {
      const failed: FailedRun = { error: (error as Error).message ?? String(error) };
      console.log(`  run ${run} failed: ${failed.error}`);
      results.push(failed);
    }
  }
  return { figures: burstFigures(results), results };
}
