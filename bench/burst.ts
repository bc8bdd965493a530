// The cold burst of issue 13 (300 requests to a revision at zero, containerConcurrency 4, an app
// that boots in 300 ms and answers in 20 ms). The scenario itself lives in bench/cold-burst.ts
// (runColdBurst), written apart; this runs it with its own defaults when it is in the tree, as many
// times as asked, and reads their p99s (ms) for the goals. When it is not, the run says so: no figure is made up in its place.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BurstFigures } from "./lib/goals.ts";
import { median } from "./lib/stats.ts";

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
 * The burst's figures over several runs: the median p99 (what the goal is judged on, as the load
 * figures are median rounds), every run's p99, and the requests not answered 200 in any run.
 */
export function burstFigures(results: readonly unknown[]): BurstFigures {
  const p99s = results.map(findP99Ms);
  if (p99s.some((p99) => p99 === undefined)) return { missing: "runColdBurst reported no p99" };
  let failed = 0;
  for (const result of results) {
    const statuses = (result as { statuses?: Record<string, number> }).statuses ?? {};
    for (const [code, count] of Object.entries(statuses)) if (code !== "200") failed += count;
  }
  const runsP99Ms = p99s as number[];
  return { p99Ms: median(runsP99Ms), runsP99Ms, failed };
}

/** `runs` cold bursts, one after the other, each on a fresh sluice up. */
export async function benchBurst(runs = 1): Promise<{ figures: BurstFigures; result?: unknown }> {
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
    const result = await module.runColdBurst({ log: (line) => console.log(`  ${line}`) });
    console.log(`  run ${run}: ${burstText(result)}`);
    results.push(result);
  }
  return { figures: burstFigures(results), result: runs === 1 ? results[0] : results };
}
