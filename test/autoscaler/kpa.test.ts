import t from "tap";
import { KNATIVE_DEFAULT_KPA, KpaDecider, type KpaSpec } from "../../autoscaler/kpa.ts";
import { MaxOverWindow } from "../../autoscaler/max-over-window.ts";
import { ScaleBounds } from "../../autoscaler/scale-bounds.ts";
import { WindowedAverage } from "../../autoscaler/windowed-average.ts";

const DEFAULTS = KNATIVE_DEFAULT_KPA;

/** Records `value` every second over [from, to) (ms). */
function feed(decider: KpaDecider, from: number, to: number, value: number): void {
  for (let at = from; at < to; at += 1000) decider.record(at, value);
}

t.test("windowed average: per-second values, averaged over the seconds since the first record", async (t) => {
  const avg = new WindowedAverage(10_000);
  t.equal(avg.average(0), undefined, "no data");
  avg.record(0, 4);
  avg.record(500, 6); // two ticks in one second: their mean
  t.equal(avg.average(900), 5);
  avg.record(1000, 0);
  t.equal(avg.average(1000), 2.5, "two seconds, 5 and 0");
  for (let s = 2; s < 20; s++) avg.record(s * 1000, 1);
  t.equal(avg.average(19_000), 1, "old seconds slide out");
  t.equal(avg.average(40_000), undefined, "a window with no records has no data");
});

t.test("max over window keeps the peak for the delay", async (t) => {
  const max = new MaxOverWindow(10_000);
  max.record(0, 5);
  max.record(1000, 2);
  t.equal(max.current(1000), 5);
  t.equal(max.current(10_500), 2, "the peak aged out");
  max.record(11_000, 3);
  t.equal(max.current(11_000), 3);
});

const stableCases: [string, Partial<KpaSpec>, number, number, number][] = [
  // name, spec, observed concurrency, ready pods, expected desired pods
  ["no load wants zero pods", {}, 0, 1, 0],
  ["load below target: one pod", {}, 50, 1, 1],
  ["exactly the target", {}, 70, 1, 1],
  ["just above the target: two", {}, 71, 1, 2],
  ["containerConcurrency 1 at 70 %: one pod per 0.7", { targetValue: 0.7, totalValue: 1 }, 10, 10, 15],
  ["rps metric: target 200 × 0.7", { targetValue: 140, totalValue: 200 }, 1000, 8, 8],
  // Knative's max scale-down rate 2: from 10 pods, no lower than 5 in one step.
  ["scale down is limited to half the ready pods", {}, 70, 10, 5],
  // Max scale-up rate 1000 × ready: bounded growth.
  ["scale up is limited by the rate", { maxScaleUpRate: 2 }, 7000, 2, 4],
];

for (const [name, spec, observed, ready, expected] of stableCases) {
  t.test(`stable: ${name}`, async (t) => {
    const decider = new KpaDecider({ ...DEFAULTS, ...spec });
    feed(decider, 0, 60_000, observed);
    t.equal(decider.decide(59_000, ready).desiredPods, expected);
  });
}

t.test("no data yet: -1, keep the current scale (Knative's invalid result)", async (t) => {
  t.equal(new KpaDecider(DEFAULTS).decide(0, 1).desiredPods, -1);
});

t.test(
  "panic: enters at 2× the ready capacity, never scales down while panicking, leaves after a stable window",
  async (t) => {
    const decider = new KpaDecider({ ...DEFAULTS, targetValue: 10, totalValue: 10, targetBurstCapacity: 0 });
    feed(decider, 0, 60_000, 10); // steady: 1 pod
    let decision = decider.decide(59_000, 1);
    t.equal(decision.desiredPods, 1);
    t.notOk(decision.panicking);
    // A burst: 6 s of 50 concurrent. Panic window (6 s) sees 50 → 5 pods ≥ 2 × 1 ready.
    feed(decider, 60_000, 66_000, 50);
    decision = decider.decide(65_000, 1);
    t.ok(decision.panicking, "panicking");
    t.equal(decision.desiredPods, 5, "panic count, not the still-low stable count");
    // The burst stops; the panic window empties, but no scale down while panicking.
    feed(decider, 66_000, 80_000, 0);
    decision = decider.decide(79_000, 5);
    t.ok(decision.panicking);
    t.equal(decision.desiredPods, 5, "held at the panic peak");
    // A stable window after the last over-threshold tick, panic ends and stable rules again.
    feed(decider, 80_000, 130_000, 0);
    decision = decider.decide(129_000, 5);
    t.notOk(decision.panicking, "un-panicked");
    t.ok(decision.desiredPods < 5, `scales down after panic (${decision.desiredPods})`);
  },
);

t.test("scale-down delay holds the highest count of the delay window", async (t) => {
  const decider = new KpaDecider({
    ...DEFAULTS,
    targetValue: 10,
    scaleDownDelayMs: 30_000,
    stableWindowMs: 6_000,
  });
  feed(decider, 0, 6000, 40);
  t.equal(decider.decide(5000, 4).desiredPods, 4);
  feed(decider, 6000, 12_000, 10);
  t.equal(decider.decide(11_000, 4).desiredPods, 4, "wants 1 but the delay keeps 4");
  feed(decider, 12_000, 40_000, 10);
  t.equal(decider.decide(39_000, 4).desiredPods, 2, "after the delay: halving, by the scale-down rate");
});

t.test("unreachable (no route sends to it): no scale-down rate, no scale-down delay", async (t) => {
  const spec = { ...DEFAULTS, targetValue: 10, scaleDownDelayMs: 30_000, stableWindowMs: 6_000 };
  const reachable = new KpaDecider(spec);
  const unreachable = new KpaDecider(spec);
  for (const decider of [reachable, unreachable]) {
    feed(decider, 0, 6000, 80);
    decider.decide(5000, 8);
    feed(decider, 6000, 12_000, 10);
  }
  t.equal(reachable.decide(11_000, 8).desiredPods, 8, "reachable: the delay keeps 8");
  t.equal(unreachable.decide(11_000, 8, false).desiredPods, 1, "unreachable: what the load asks, at once");
  const noDelay = new KpaDecider({ ...spec, scaleDownDelayMs: 0 });
  feed(noDelay, 0, 6000, 10);
  t.equal(noDelay.decide(5000, 8).desiredPods, 4, "reachable: halving at most, by the rate");
});

t.test("activation scale: from any load, at least activation-scale pods", async (t) => {
  const decider = new KpaDecider({ ...DEFAULTS, activationScale: 3 });
  feed(decider, 0, 60_000, 1);
  t.equal(decider.decide(59_000, 0).desiredPods, 3);
  const idle = new KpaDecider({ ...DEFAULTS, activationScale: 3 });
  feed(idle, 0, 60_000, 0);
  t.equal(idle.decide(59_000, 0).desiredPods, 0, "no load: zero still");
});

t.test("excess burst capacity and the serve/proxy decision", async (t) => {
  const ebc = (targetBurstCapacity: number, ready: number, load: number) => {
    const decider = new KpaDecider({ ...DEFAULTS, targetBurstCapacity });
    feed(decider, 0, 60_000, load);
    return decider.decide(59_000, ready).excessBurstCapacity;
  };
  t.equal(ebc(211, 1, 50), -161, "1 pod × 100 − 211 − 50");
  t.equal(ebc(211, 3, 50), 39, "3 pods have room for the burst");
  t.equal(ebc(0, 0, 50), 0, "TBC 0: activator only at zero");
  t.equal(ebc(-1, 10, 0), -1, "TBC -1: activator always in the path");
});

t.test("bounds: initial, min, max, schedule and the grace period to zero", async (t) => {
  const spec = {
    minScale: 0,
    maxScale: 5,
    initialScale: 1,
    activationScale: 1,
    scaleToZeroGraceMs: 30_000,
    scaleToZeroRetentionMs: 0,
  };
  const bounds = new ScaleBounds(spec);
  const step = (
    now: number,
    wanted: number,
    current: number,
    readyPods: number,
    scheduledMin = 0,
    excessBurstCapacity = 0,
  ) => bounds.apply({ now, wanted, current, readyPods, scheduledMin, excessBurstCapacity });
  t.same(
    step(0, -1, 0, 0),
    { scale: 1, mode: "proxy" },
    "a new revision starts at initial scale, through the activator",
  );
  t.same(
    step(1000, 0, 1, 1),
    { scale: 1, mode: "proxy" },
    "initial scale reached; zero wanted: grace starts",
  );
  t.same(
    step(20_000, 0, 1, 1),
    { scale: 1, mode: "proxy" },
    "still in the grace period: pods stay, activator in front",
  );
  t.same(step(31_000, 0, 1, 1), { scale: 0, mode: "proxy" }, "after the grace period: zero");
  t.same(step(40_000, 9, 0, 0), { scale: 5, mode: "proxy" }, "max scale caps");
  t.same(step(50_000, 3, 5, 5, 4), { scale: 4, mode: "serve" }, "the schedule's minimum wins over the load");
  t.same(step(60_000, 3, 5, 5, 0, -10), { scale: 3, mode: "proxy" }, "short of burst capacity: proxy");

  const retained = new ScaleBounds({ ...spec, initialScale: 0, scaleToZeroRetentionMs: 60_000 });
  const keep = (now: number, current: number) =>
    retained.apply({ now, wanted: 0, current, readyPods: current, scheduledMin: 0, excessBurstCapacity: 0 });
  t.same(keep(0, 3), { scale: 3, mode: "proxy" });
  t.same(keep(31_000, 3), { scale: 1, mode: "proxy" }, "after the grace period the last pod is retained");
  t.same(keep(61_000, 1), { scale: 0, mode: "proxy" }, "then it goes");

  const floor = new ScaleBounds({ ...spec, minScale: 2 });
  t.same(
    floor.apply({ now: 0, wanted: 0, current: 2, readyPods: 2, scheduledMin: 0, excessBurstCapacity: 5 }),
    { scale: 2, mode: "serve" },
    "min scale: never to zero",
  );
});
