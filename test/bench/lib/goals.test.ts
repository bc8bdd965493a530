import t from "tap";
import { goalRows } from "../../../bench/lib/goals.ts";
import { withRatios } from "../../../bench/lib/report.ts";
import { measurement } from "../measurement.ts";

const rows = withRatios(
  [8, 64].flatMap((connections) => [
    measurement({ target: "direct", connections, pathCpu: 10, p99Ms: 1 }),
    measurement({ target: "nginx", connections, ownCpu: 20, pathCpu: 20, p99Ms: 2 }),
    measurement({
      target: "router [node]",
      family: "router",
      path: "node",
      connections,
      ownCpu: 25,
      pathCpu: 25,
    }),
    measurement({
      target: "router→qp [node]",
      family: "serve",
      path: "node",
      connections,
      ownCpu: 30,
      pathCpu: connections === 8 ? 50 : 70,
      p99Ms: connections === 8 ? 2 : 40,
      rssMb: { router: 75, "queue-proxy": 60 },
    }),
    measurement({
      target: "router→qp tcp [node]",
      family: "serve-tcp",
      path: "node",
      connections,
      ownCpu: 30,
      pathCpu: 80,
    }),
  ]),
);

t.test("goals: each figure per path, met only when every client count meets it", async (t) => {
  const goals = goalRows(rows, ["node"], [{ path: "node", listenMs: 80, cpuMs: 120, idleRssMb: 45 }], {
    p99Ms: 1200,
    runsP99Ms: [1200],
    failed: 0,
  });
  const goal = (start: string) => goals.find((g) => g.figure.startsWith(start));
  t.same(goal("router alone")?.byPath, { node: "1.25 / 1.25" });
  t.equal(goal("router alone")?.met.node, "yes");
  t.same(goal("router→qp, all")?.byPath, { node: "2.50 / 3.50" });
  t.equal(goal("router→qp, all")?.met.node, "no", "64 connections misses ≤ 3×");
  t.same(goal("router→qp over TCP")?.byPath, { node: "4.00 / 4.00" });
  t.equal(goal("router→qp over TCP")?.met.node, "-", "for comparison, no goal of its own");
  t.same(goal("router→qp p99 added")?.byPath, { node: "1.000" }, "8 connections only");
  t.equal(goal("router→qp p99 added")?.met.node, "yes");
  t.equal(goal("queue-proxy listening")?.met.node, "yes");
  t.equal(goal("queue-proxy CPU until")?.met.node, "no");
  t.equal(goal("router RSS")?.byPath.node, "75");
  t.equal(goal("cold burst")?.byPath.node, "1200");
  t.equal(goal("cold burst")?.met.node, "yes");
  t.notOk(goal("router→act→qp"), "a family not in the run is left out");
  t.notOk(goal("queue-proxy alone"));
  t.same(goal("queue-proxy idle RSS")?.byPath, { node: "45.00" }, "two decimals: 50.03 must not read 50");
  t.notOk(goal("queue-proxy RSS after --long-idle"), "no long-idle sample (--long-idle 0): no row");
});

t.test("goals: the long idle is shown for comparison, beside the 1 s idle it does not decide", async (t) => {
  const goals = goalRows(
    rows,
    ["node"],
    [{ path: "node", listenMs: 80, cpuMs: 80, idleRssMb: 50.03, longIdleRssMb: 51.04 }],
    undefined,
  );
  const idle = goals.find((g) => g.figure.startsWith("queue-proxy idle RSS"));
  t.same([idle?.byPath.node, idle?.met.node], ["50.03", "no"], "just over 50 is a miss");
  const long = goals.find((g) => g.figure.startsWith("queue-proxy RSS after --long-idle"));
  t.same([long?.byPath.node, long?.met.node, long?.goal], ["51.0", "-", "(for comparison)"]);
});

t.test("goals: a burst that did not run says so; one not chosen is left out", async (t) => {
  const missing = goalRows(rows, ["node"], [], { missing: "TODO" });
  t.equal(missing.find((g) => g.figure.startsWith("cold burst"))?.byPath.node, "not measured");
  t.notOk(goalRows(rows, ["node"], [], undefined).some((g) => g.figure.startsWith("cold burst")));
  t.notOk(goalRows(rows, ["node"], [], undefined).some((g) => g.figure.startsWith("queue-proxy listening")));
});

t.test("goals: a hop that seems to take latency away is noise, not a goal met", async (t) => {
  const faster = withRatios([
    measurement({ target: "direct", p99Ms: 30 }),
    measurement({ target: "router→qp [raw]", family: "serve", path: "raw", p99Ms: 21 }),
  ]);
  const added = goalRows(faster, ["raw"], [], undefined).find((g) => g.figure.includes("p99 added"));
  t.equal(added?.byPath.raw, "-9.000");
  t.equal(added?.met.raw, "noisy");
});

t.test("goals: the floors sit beside the router alone, under the raw path only", async (t) => {
  const measured = withRatios(
    [8, 64].flatMap((connections) => [
      measurement({ target: "nginx", connections, ownCpu: 20, pathCpu: 20 }),
      measurement({ target: "raw-forwarder", family: "floor", connections, ownCpu: 24, pathCpu: 24 }),
      measurement({ target: "llhttp-forwarder", family: "floor", connections, ownCpu: 22, pathCpu: 22 }),
      measurement({ target: "llhttp-forwarder wasm", family: "floor", connections, ownCpu: 26, pathCpu: 26 }),
      measurement({
        target: "router [raw]",
        family: "router",
        path: "raw",
        connections,
        ownCpu: 30,
        pathCpu: 30,
      }),
    ]),
  );
  const goals = goalRows(measured, ["node", "raw"], [], undefined);
  const floor = goals.find((g) => g.figure.startsWith("raw path forwarding"));
  t.same(floor?.byPath, { node: "- / -", raw: "1.20 / 1.20" });
  t.same([floor?.goal, floor?.met.raw], ["(for comparison)", "-"]);
  t.equal(goals.indexOf(floor as never), 1, "right after the router alone");
  const technique = goals.find((g) => g.figure.startsWith("the technique alone"));
  t.same(technique?.byPath, { node: "- / -", raw: "1.10 / 1.10" }, "node's llhttp, not the WebAssembly one");
  t.equal(goals.indexOf(technique as never), 2, "after the raw path's floor");
  t.notOk(
    goalRows(
      measured.filter((r) => r.family !== "floor"),
      ["raw"],
      [],
      undefined,
    ).some((g) => g.figure.startsWith("raw path forwarding") || g.figure.startsWith("the technique alone")),
    "no floor in the run: no row",
  );
});

t.test("goals: the chain of two llhttp forwarders counts both, beside router→qp", async (t) => {
  const measured = withRatios(
    [8, 64].flatMap((connections) => [
      measurement({ target: "nginx", connections, ownCpu: 20, pathCpu: 20 }),
      measurement({
        target: "llhttp-forwarder chain",
        family: "floor",
        connections,
        ownCpu: 22,
        pathCpu: connections === 8 ? 46 : 50,
      }),
      measurement({
        target: "router→qp [raw]",
        family: "serve",
        path: "raw",
        connections,
        ownCpu: 30,
        pathCpu: 60,
      }),
    ]),
  );
  const goals = goalRows(measured, ["raw"], [], undefined);
  const chain = goals.find((g) => g.figure.startsWith("the technique twice"));
  t.same(chain?.byPath, { raw: "2.30 / 2.50" }, "every process of the chain, not the front one's");
  t.same([chain?.goal, chain?.met.raw], ["(for comparison)", "-"]);
  const serve = goals.find((g) => g.figure.startsWith("router→qp, all"));
  t.equal(goals.indexOf(chain as never), goals.indexOf(serve as never) + 1, "right after router→qp");
});

t.test("goals: the burst over several runs, judged on the median, every run shown", async (t) => {
  const burstRow = (figures: Parameters<typeof goalRows>[3]) =>
    goalRows(rows, ["raw"], [], figures).find((g) => g.figure.startsWith("cold burst"));
  const three = burstRow({ p99Ms: 1400, runsP99Ms: [1400, 1600, 1300], failed: 0 });
  t.match(three?.figure, /median of 3 runs/);
  t.equal(three?.byPath.raw, "1400 (runs 1400, 1600, 1300)");
  t.equal(three?.met.raw, "yes", "one slow run of three does not decide it");
  const failing = burstRow({ p99Ms: 900, runsP99Ms: [900], failed: 2 });
  t.match(failing?.figure, /one run/);
  t.equal(failing?.byPath.raw, "900, 2 not 200");
  t.equal(failing?.met.raw, "no", "all 200 is part of the goal");
  const unmeasured = burstRow({ missing: "run 2 reported no p99", runs: 3, failed: 1 });
  t.match(unmeasured?.figure, /median of 3 runs/);
  t.same([unmeasured?.byPath.raw, unmeasured?.met.raw], ["not measured, 1 not 200", "no"]);
});
