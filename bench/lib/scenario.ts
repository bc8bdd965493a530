// A scenario family of the data-path comparison: the targets it adds to the run. Every target of
// every family chosen is measured in the same interleaved rounds, against the same nginx.
import type { Target } from "./compare.ts";
import type { DataPath } from "./data-path.ts";
import type { BenchProcesses } from "./processes.ts";

/** A target to add, started when the run begins; a failing start skips it with the reason. */
export interface PlannedTarget {
  name: string;
  start(): Promise<Target>;
}

export interface Scenario {
  name: string;
  about: string;
  plan(processes: BenchProcesses, paths: readonly DataPath[]): PlannedTarget[];
}

/** The row name of a sluice target on a data path: "router→qp [raw]". */
export const pathName = (name: string, path: DataPath) => `${name} [${path}]`;
