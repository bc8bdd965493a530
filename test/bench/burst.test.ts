import t from "tap";
import { burstFigures, burstText, findP99Ms } from "../../bench/burst.ts";
import { parseBenchArgs } from "../../bench/lib/options.ts";

t.test("findP99Ms: the cold burst's p99 in ms, wherever runColdBurst put it", async (t) => {
  t.equal(findP99Ms({ requests: 300, p50: 400, p99: 1400 }), 1400);
  t.equal(findP99Ms({ latency: { p99Ms: 900 } }), 900);
  t.equal(findP99Ms({ p99s: 1.5 }), 1500);
  t.equal(findP99Ms({ p50: 1 }), undefined);
  t.equal(findP99Ms(undefined), undefined);
  t.equal(findP99Ms({ p99: "fast" }), undefined);
});

t.test("burstText: its figures and statuses on one line", async (t) => {
  t.equal(
    burstText({ requests: 300, statuses: { "200": 299, error: 1 }, p99: 1400 }),
    "requests 300, p99 1400, statuses 299× 200, 1× error",
  );
  t.equal(
    burstText({
      requests: 3,
      statuses: { "200": 1, "404": 2 },
      firstFailure: { "404": "router: no service has the host" },
    }),
    "requests 3, statuses 1× 200, 2× 404, first 404: router: no service has the host",
    "what the first failure of each status said",
  );
});

t.test("burstFigures: the median p99 of the runs, each run's, and what was not a 200", async (t) => {
  t.same(
    burstFigures([
      { requests: 300, p99: 1300, statuses: { "200": 300 } },
      { requests: 300, p99: 1600, statuses: { "200": 299, "503": 1 } },
      { requests: 300, p99: 1400, statuses: { "200": 300 } },
    ]),
    { p99Ms: 1400, runsP99Ms: [1300, 1600, 1400], failed: 1 },
  );
  t.equal(
    (
      burstFigures([
        { p99: 1300, statuses: {} },
        { p99: 1600, statuses: {} },
      ]) as { p99Ms: number }
    ).p99Ms,
    1600,
    "two runs: the worse one, not the better",
  );
  t.same(
    burstFigures([{ requests: 300, p99: 1300, statuses: { "200": 290 } }]),
    { p99Ms: 1300, runsP99Ms: [1300], failed: 10 },
    "requests sent but not among the statuses are not 200s",
  );
});

t.test(
  "burstFigures: a run without a figure leaves the p99 unmeasured, and keeps the failures",
  async (t) => {
    t.same(
      burstFigures([
        { p99: 1300, statuses: { "200": 300 } },
        { p50: 1, statuses: { "200": 300 } },
      ]),
      {
        missing: "run 2 reported no p99",
        runs: 2,
        failed: 0,
      },
    );
    t.same(burstFigures([{ p99: 1300 }]), { missing: "run 1 reported no statuses", runs: 1, failed: 0 });
    t.same(
      burstFigures([
        { p99: 1300, statuses: { "200": 298, error: 2 } },
        { error: "sluice up did not start" },
        { p99: 1200, statuses: { "200": 300 } },
      ]),
      { missing: "run 2 failed: sluice up did not start", runs: 3, failed: 2 },
    );
  },
);

t.test("--burst-runs: 3 by default, 1 in quick, whole numbers 1 to 10", async (t) => {
  t.equal(parseBenchArgs(["burst"]).options.burstRuns, 3);
  t.equal(parseBenchArgs(["quick"]).options.burstRuns, 1);
  t.equal(parseBenchArgs(["burst", "--burst-runs", "5"]).options.burstRuns, 5);
  for (const bad of ["0", "11", "2.5", "x"])
    t.throws(
      () => parseBenchArgs(["--burst-runs", bad]),
      /--burst-runs .*: expected a whole number from 1 to 10/,
    );
});
