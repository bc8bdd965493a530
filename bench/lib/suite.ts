// One run of the data-path comparison: the chosen scenario families' targets, the references
// (the app direct, nginx one hop) always with them, measured in the same interleaved rounds; the
// queue-proxy's start and the cold burst when chosen; then the tables, issue 13's goals and the
// JSON under bench/results/.
import { DATA_PATH_NODE_OPTIONS, DATA_PATH_ENV as MEMORY_ENV, staleness } from "../../common/prebuilt.ts";
import { benchBurst } from "../burst.ts";
import { references } from "../references.ts";
import { benchStartup } from "../startup.ts";
import { measureAll, rssOf, type Target } from "./compare.ts";
import { componentsIgnoringDataPath, DATA_PATH_ENV } from "./data-path.ts";
import { type BurstFigures, goalRows, type StartupFigures } from "./goals.ts";
import type { BenchOptions } from "./options.ts";
import { roundSeconds } from "./options.ts";
import { type Paced, pacedReport } from "./paced-latency.ts";
import { Pinning } from "./placement.ts";
import { BenchProcesses } from "./processes.ts";
import { printDetails, printRawVsNode, printSummary, printTracingCost, withRatios } from "./report.ts";
import { saveResults } from "./results.ts";
import type { Scenario } from "./scenario.ts";
import { printTable } from "./table.ts";

export interface SuiteChoice {
  families: Scenario[];
  startup: boolean;
  burst: boolean;
}

/** How the router, activator and queue-proxy run in this run: as the local platform runs them. */
function howComponentsRun(): string {
  const stale = staleness();
  const settings = [...DATA_PATH_NODE_OPTIONS, ...Object.entries(MEMORY_ENV).map(([k, v]) => `${k}=${v}`)];
  const runs =
    stale === undefined
      ? "prebuilt bundles (as sluice up runs them)"
      : `TypeScript sources, no fresh bundle (${stale}; npm run build)`;
  return `${runs}, with ${settings.join(" ")}`;
}

const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split("\n")[0];

export async function runSuite(choice: SuiteChoice, options: BenchOptions, name: string): Promise<void> {
  // Before anything starts: a machine that cannot pin fails here, not after the start-up family.
  const processes = new BenchProcesses();
  const pinning =
    options.placement === "pinned" && choice.families.length > 0
      ? new Pinning(() => processes.pids())
      : undefined;
  const skipped: { target: string; reason: string }[] = [];
  let startup: { figures: StartupFigures[]; samples: unknown[] } | undefined;
  let burst: { figures: BurstFigures; results?: unknown[] } | undefined;
  let rows: ReturnType<typeof withRatios> = [];
  let paced: Paced | undefined;
  const idle: Record<string, Record<string, number>> = {};
  const ignoring = options.paths.includes("raw") ? componentsIgnoringDataPath() : [];
  try {
    console.log(
      `data paths: ${options.paths.join(", ")} (${DATA_PATH_ENV} of each sluice process; rows say which)` +
        (ignoring.length > 0
          ? `\n  NOTE: ${ignoring.join(", ")} ${ignoring.length === 1 ? "does" : "do"} not read ${DATA_PATH_ENV} yet: ` +
            "in [raw] rows, that hop runs node:http"
          : ""),
    );
    console.log(`sluice's processes: ${howComponentsRun()}`);
    // Start-up first, on a machine not yet busy with the comparison's processes (only the app).
    if (choice.startup)
      startup = await benchStartup(processes, options.paths, { longIdleMs: options.longIdleSeconds * 1000 });

    if (choice.families.length > 0) {
      const targets: Target[] = [];
      for (const family of [references, ...choice.families])
        for (const planned of family.plan(processes, options.paths)) {
          try {
            targets.push(await planned.start());
          } catch (error) {
            skipped.push({ target: planned.name, reason: firstLine(error) });
          }
        }
      for (const { target, reason } of skipped) console.log(`${target}: skipped, ${reason}`);
      for (const target of targets) idle[target.name] = rssOf(target);
      console.log(
        `\nload: ${options.load} on 127.0.0.1, ${targets.length} targets; per target and client count ` +
          `${options.warmupSeconds} s warm-up, then ${options.rounds} interleaved rounds of ` +
          `${roundSeconds(options)} s (figures: median round)\n` +
          `placement: ${pinning === undefined ? "shared (wherever the kernel puts each process)" : `pinned, ${pinning.describe()}`}`,
      );
      rows = withRatios(await measureAll(targets, options, pinning));
      printDetails(rows);
      if (options.paced) paced = await pacedReport(targets, options);
    }
  } finally {
    await processes.stop();
  }
  // Last, with the comparison's processes gone: it starts a whole sluice up and forks pods.
  if (choice.burst) burst = await benchBurst(options.burstRuns);

  if (rows.length > 0) {
    console.log("\n== summary: CPU µs/req of every sluice process on the path, ratio to nginx's one hop ==");
    printSummary(rows);
    printRawVsNode(rows);
    printTracingCost(rows);
  }
  if (rows.length > 0 || startup || burst) {
    console.log(
      `\n== issue 13 goals (this run; placement ${options.placement} for the load figures, start-up and burst unpinned) ==`,
    );
    const goals = goalRows(rows, options.paths, startup?.figures ?? [], burst?.figures);
    printTable(
      [
        "figure",
        ...options.paths.map((p) => `[${p}]`),
        "goal",
        ...options.paths.map((p) => `met [${p}]`),
        "before",
      ],
      goals.map((g) => [
        g.figure,
        ...options.paths.map((p) => g.byPath[p]),
        g.goal,
        ...options.paths.map((p) => g.met[p]),
        g.before,
      ]),
    );
    if (burst && "missing" in burst.figures) console.log(`cold burst: ${burst.figures.missing}`);
    if (ignoring.length > 0)
      console.log(`[raw] rows: ${ignoring.join(", ")} still on node:http (${DATA_PATH_ENV} not read).`);
  }
  const file = saveResults(name, {
    options,
    componentsIgnoringDataPath: ignoring,
    skipped,
    idleRssMb: idle,
    results: rows,
    paced,
    startup,
    burst,
  });
  console.log(`\nresults: ${file}`);
}
