// Issue 13's goals, each with the figures of this run that decide it, per data path. Pure: the
// figures come in, rows of text go out (tested in test/bench/).
import type { DataPath } from "./data-path.ts";
import type { Row } from "./report.ts";
import { fixed } from "./table.ts";

/** The queue-proxy's start, measured by startup.ts (medians over its samples). */
export interface StartupFigures {
  path: DataPath;
  listenMs: number;
  cpuMs: number;
  /** Once ready, idle 1 s. */
  idleRssMb: number;
  /** Idle a minute: the first optimizing compile its own probes bring on is in (startup.ts). */
  longIdleRssMb?: number;
}

/** The raw path's floor target (bench/references.ts). */
export const RAW_FLOOR = "raw-forwarder";
/** The technique's floor targets, by llhttp build: none of sluice's code (bench/references.ts). */
export const LLHTTP_FLOORS = { node: "llhttp-forwarder", wasm: "llhttp-forwarder wasm" } as const;
/** Two of the node one in a chain: the technique's floor under router → queue-proxy. */
export const LLHTTP_CHAIN_FLOOR = "llhttp-forwarder chain";

/**
 * What the cold bursts gave: the median of their p99s, each run's, and the requests not answered
 * 200 (the goal wants none); or why there is no figure.
 */
export type BurstFigures =
  | { p99Ms: number; runsP99Ms: number[]; failed: number }
  | { missing: string; runs?: number; failed?: number };

interface Goal {
  figure: string;
  /** The figure before the work (issue 13), for the reader. */
  before: string;
  goal: string;
  /** Met when every value is at most this. */
  max?: number;
  /**
   * A value below this cannot be a real measurement of the figure (a hop that adds negative
   * latency): the machine's noise decided it, so it is marked "noisy", never "yes".
   */
  noisyBelow?: number;
  digits: number;
  /** The values for one path (one per client count, or one). */
  values(path: DataPath): number[];
}

export interface GoalRow {
  figure: string;
  /** Per path: the values, "a / b" for several client counts. */
  byPath: Record<string, string>;
  goal: string;
  /** Per path: "yes", "no", "noisy" (an impossible value: rerun on a quieter machine) or "-". */
  met: Record<string, string>;
  before: string;
}

export function goalRows(
  rows: Row[],
  paths: readonly DataPath[],
  startup: StartupFigures[],
  burst: BurstFigures | undefined,
): GoalRow[] {
  const counts = [...new Set(rows.map((r) => r.connections))].sort((a, b) => a - b);
  const at = (family: string, path: DataPath, connections: number) =>
    rows.find((r) => r.family === family && r.path === path && r.connections === connections);
  const perCount = (pick: (c: number) => number | undefined) => counts.map((c) => pick(c) ?? Number.NaN);
  const startOf = (path: DataPath) => startup.find((s) => s.path === path);
  const at64 = counts.includes(64) ? [64] : counts.slice(-1);
  const burstRuns =
    burst === undefined ? 1 : "runsP99Ms" in burst ? burst.runsP99Ms.length : (burst.runs ?? 1);
  // A floor target's ratio (its first process's, or all of its processes'), shown under the raw
  // path (it is built from it) for comparison.
  const floorRow = (target: string, of: "ownXNginx" | "pathXNginx" = "ownXNginx") => ({
    before: "-",
    goal: "(for comparison)",
    digits: 2,
    values: (p: DataPath) =>
      perCount((c) =>
        p === "raw" ? rows.find((r) => r.target === target && r.connections === c)?.[of] : undefined,
      ),
  });
  const goals: Goal[] = [
    {
      figure: `router alone (router→app), CPU/req ×nginx @${counts.join("/")}`,
      before: "4.4–4.7×",
      goal: "≤ 1.5×",
      max: 1.5,
      digits: 2,
      values: (p) => perCount((c) => at("router", p, c)?.ownXNginx),
    },
    {
      // Sluice's raw path without the router's features (apps/raw-forwarder.ts): how far the
      // router alone could come down in this run and placement by slimming its features.
      figure: `raw path forwarding with nothing of the router (its floor), CPU/req ×nginx @${counts.join("/")}`,
      ...floorRow(RAW_FLOOR),
    },
    {
      // The technique with none of sluice's code (apps/llhttp-forwarder.ts, node's llhttp): what
      // the raw path itself costs above it is sluice's own code on every request.
      figure: `the technique alone: llhttp forwarder, none of sluice's code, CPU/req ×nginx @${counts.join("/")}`,
      ...floorRow(LLHTTP_FLOORS.node),
    },
    {
      figure: `router's own CPU on router→qp, ×nginx @${counts.join("/")}`,
      before: "4.4–4.7×",
      goal: "(as above)",
      digits: 2,
      values: (p) => perCount((c) => at("serve", p, c)?.ownXNginx),
    },
    {
      figure: `router→qp, all sluice processes, CPU/req ×nginx @${counts.join("/")}`,
      before: "8.4×",
      goal: "≤ 3×",
      max: 3,
      digits: 2,
      values: (p) => perCount((c) => at("serve", p, c)?.pathXNginx),
    },
    {
      // Two llhttp forwarders chained (over TCP, so beside the TCP row below it is like for like):
      // what the technique alone costs for two hops in this run and placement.
      figure: `the technique twice: two llhttp forwarders chained, CPU/req ×nginx @${counts.join("/")}`,
      ...floorRow(LLHTTP_CHAIN_FLOOR, "pathXNginx"),
    },
    {
      // Not the goal's setting (sluice up's pods take the socket) but the cost on Kubernetes.
      figure: `router→qp over TCP (as across pods), all sluice processes, CPU/req ×nginx @${counts.join("/")}`,
      before: "8.4×",
      goal: "(for comparison)",
      digits: 2,
      values: (p) => perCount((c) => at("serve-tcp", p, c)?.pathXNginx),
    },
    {
      figure: `router→act→qp, all sluice processes, ×nginx @${counts.join("/")}`,
      before: "-",
      goal: "-",
      digits: 2,
      values: (p) => perCount((c) => at("proxy", p, c)?.pathXNginx),
    },
    {
      figure: `queue-proxy alone, CPU/req ×nginx @${counts.join("/")}`,
      before: "-",
      goal: "-",
      digits: 2,
      values: (p) => perCount((c) => at("queue-proxy", p, c)?.ownXNginx),
    },
    {
      figure: "router→qp p99 added over the app's own, 8 conns, closed loop (ms)",
      before: "+16.5 ms",
      goal: "≤ 1.5 ms",
      max: 1.5,
      noisyBelow: 0,
      digits: 3,
      values: (p) => [at("serve", p, 8)?.addedP99Ms ?? Number.NaN],
    },
    {
      figure: "queue-proxy listening after spawn (ms)",
      before: "~900 ms",
      goal: "≤ 100 ms",
      max: 100,
      digits: 0,
      values: (p) => [startOf(p)?.listenMs ?? Number.NaN],
    },
    {
      figure: "queue-proxy CPU until listening (ms)",
      before: "~660 ms",
      goal: "≤ 100 ms",
      max: 100,
      digits: 0,
      values: (p) => [startOf(p)?.cpuMs ?? Number.NaN],
    },
    {
      figure: "queue-proxy idle RSS, ready and idle 1 s (MB)",
      before: "105 MB",
      goal: "≤ 50 MB",
      max: 50,
      digits: 2,
      values: (p) => [startOf(p)?.idleRssMb ?? Number.NaN],
    },
    {
      figure: "queue-proxy RSS after --long-idle (one start, its app TCP-probed each second; MB)",
      before: "-",
      goal: "(for comparison)",
      digits: 1,
      values: (p) => [startOf(p)?.longIdleRssMb ?? Number.NaN],
    },
    {
      figure: `queue-proxy RSS after load @${at64[0]} (MB)`,
      before: "~160 MB",
      goal: "≤ 70 MB",
      max: 70,
      digits: 0,
      values: (p) => at64.map((c) => at("queue-proxy", p, c)?.rssMb["queue-proxy"] ?? Number.NaN),
    },
    {
      figure: `router RSS after load @${at64[0]} (MB)`,
      before: "~159 MB",
      goal: "≤ 80 MB",
      max: 80,
      digits: 0,
      values: (p) => at64.map((c) => at("serve", p, c)?.rssMb.router ?? Number.NaN),
    },
    {
      figure: `cold burst of 300 at zero, p99 (ms; ${burstRuns === 1 ? "one run" : `median of ${burstRuns} runs`}, default path)`,
      before: "6,500 ms",
      goal: "≤ 1,500 ms, all 200",
      max: 1500,
      digits: 0,
      values: () => [burst && "p99Ms" in burst ? burst.p99Ms : Number.NaN],
    },
  ];
  // A goal none of whose figures this run measured (a family or part not chosen) is left out;
  // the burst stays when it was chosen, to say why it has no figure.
  const measured = (goal: Goal) =>
    paths.some((path) => goal.values(path).some(Number.isFinite)) ||
    (goal.figure.startsWith("cold burst") && burst !== undefined);
  return goals.filter(measured).map((goal) => {
    const byPath: Record<string, string> = {};
    const met: Record<string, string> = {};
    for (const path of paths) {
      const values = goal.values(path);
      byPath[path] = values.map((v) => fixed(v, goal.digits)).join(" / ");
      met[path] =
        goal.max === undefined || values.some((v) => !Number.isFinite(v))
          ? "-"
          : values.some((v) => v < (goal.noisyBelow ?? Number.NEGATIVE_INFINITY))
            ? "noisy"
            : values.every((v) => v <= (goal.max as number))
              ? "yes"
              : "no";
    }
    if (goal.figure.startsWith("cold burst") && burst)
      for (const path of paths) {
        if ("missing" in burst) byPath[path] = "not measured";
        else if (burst.runsP99Ms.length > 1)
          byPath[path] += ` (runs ${burst.runsP99Ms.map((v) => fixed(v, 0)).join(", ")})`;
        // Any request not answered 200 misses the goal, whatever the p99 (or its absence).
        if ((burst.failed ?? 0) > 0) {
          byPath[path] += `, ${burst.failed} not 200`;
          met[path] = "no";
        }
      }
    return { figure: goal.figure, byPath, goal: goal.goal, met, before: goal.before };
  });
}
