// A Measurement for the report and goals tests: every figure set, the ones a test names replaced.
import type { Measurement } from "../../bench/lib/compare.ts";

export function measurement(over: Partial<Measurement> & Pick<Measurement, "target">): Measurement {
  return {
    family: "reference",
    connections: 8,
    requests: 1000,
    requestsPerSecond: 1000,
    p50Ms: 0.5,
    p99Ms: 1,
    errors: 0,
    cpu: {},
    ownCpu: 10,
    pathCpu: 10,
    pathCpuRange: [10, 10],
    rssMb: {},
    rounds: [],
    ...over,
  };
}
