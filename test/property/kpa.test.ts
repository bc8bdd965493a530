// Properties of the KPA decider (autoscaler/kpa.ts) and the bounds after it
// (autoscaler/scale-bounds.ts), over generated specs and generated histories of load and pods.
import fc from "fast-check";
import t from "tap";
import { KpaDecider, type KpaDecision, type KpaSpec } from "../../autoscaler/kpa.ts";
import { ScaleBounds } from "../../autoscaler/scale-bounds.ts";

const RUNS = { numRuns: 1000 };

const spec: fc.Arbitrary<KpaSpec> = fc
  .record({
    targetValue: fc.double({ min: 0.01, max: 1000, noNaN: true }),
    extraTotal: fc.double({ min: 0, max: 1000, noNaN: true }),
    targetBurstCapacity: fc.oneof(
      fc.constant(-1),
      fc.constant(0),
      fc.double({ min: 0, max: 1000, noNaN: true }),
    ),
    stableWindowMs: fc.integer({ min: 6, max: 3600 }).map((s) => s * 1000),
    panicWindowPercentage: fc.double({ min: 1, max: 100, noNaN: true }),
    panicThresholdPercentage: fc.double({ min: 110, max: 1000, noNaN: true }),
    maxScaleUpRate: fc.double({ min: 1.01, max: 1000, noNaN: true }),
    maxScaleDownRate: fc.double({ min: 1.01, max: 1000, noNaN: true }),
    activationScale: fc.integer({ min: 1, max: 10 }),
    scaleDownDelayMs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 3600 }).map((s) => s * 1000),
    ),
  })
  .map(({ extraTotal, ...rest }) => ({ ...rest, totalValue: rest.targetValue + extraTotal }));

/** One step of a history: time passes, the revision-wide load is recorded, a decision is asked. */
interface Step {
  dtMs: number;
  value: number;
  readyPods: number;
  record: boolean;
}
const step: fc.Arbitrary<Step> = fc.record({
  dtMs: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 120_000 })),
  value: fc.oneof(
    fc.constant(0),
    fc.double({ min: 0, max: 100_000, noNaN: true }),
    fc.integer({ min: 0, max: 500 }),
  ),
  readyPods: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2000 })),
  record: fc.boolean(),
});
const history = fc.array(step, { minLength: 1, maxLength: 120 });
const start = fc.integer({ min: 0, max: 2_000_000_000_000 });

interface Decided {
  now: number;
  readyPods: number;
  decision: KpaDecision;
}

function run(kpa: KpaSpec, t0: number, steps: Step[]): Decided[] {
  const decider = new KpaDecider(kpa);
  const out: Decided[] = [];
  let now = t0;
  for (const s of steps) {
    now += s.dtMs;
    if (s.record) decider.record(now, s.value);
    out.push({ now, readyPods: s.readyPods, decision: decider.decide(now, s.readyPods) });
  }
  return out;
}

t.test("the decider's pod count is -1 (no data) or a whole number within the rate bounds", async (t) => {
  fc.assert(
    fc.property(spec, start, history, (kpa, t0, steps) => {
      for (const { readyPods, decision } of run(kpa, t0, steps)) {
        const desired = decision.desiredPods;
        if (desired === -1) continue;
        if (!Number.isInteger(desired) || desired < 0) return false;
        if (!Number.isFinite(decision.excessBurstCapacity)) return false;
        // Outside panic and scale-down delay: never below what the down-rate allows, never above
        // the up-rate (or the activation scale, which Knative applies after the rates).
        if (!decision.panicking && kpa.scaleDownDelayMs === 0) {
          const ready = Math.max(1, readyPods);
          const up = Math.max(Math.ceil(kpa.maxScaleUpRate * ready), kpa.activationScale);
          const down = Math.floor(ready / kpa.maxScaleDownRate);
          if (desired > up || desired < down) return false;
        }
      }
      return true;
    }),
    RUNS,
  );
  t.pass("held");
});

t.test("never scales down while panicking", async (t) => {
  fc.assert(
    fc.property(spec, start, history, (kpa, t0, steps) => {
      let previous: Decided | undefined;
      for (const current of run(kpa, t0, steps)) {
        const { decision } = current;
        if (decision.panicking && decision.desiredPods !== -1) {
          // Entering panic never asks for fewer pods than are ready; in a panic, including the
          // decision that enters it, never fewer than the decision before.
          if (!previous?.decision.panicking && decision.desiredPods < current.readyPods) return false;
          if (previous && decision.desiredPods < previous.decision.desiredPods) return false;
        }
        if (decision.desiredPods !== -1) previous = current;
      }
      return true;
    }),
    RUNS,
  );
  t.pass("held");
});

t.test("deterministic: the same spec and history give the same decisions", async (t) => {
  fc.assert(
    fc.property(spec, start, history, (kpa, t0, steps) => {
      const a = run(kpa, t0, steps);
      const b = run({ ...kpa }, t0, structuredClone(steps));
      return JSON.stringify(a) === JSON.stringify(b);
    }),
    RUNS,
  );
  t.pass("held");
});

const bounds = fc
  .record({
    minScale: fc.integer({ min: 0, max: 20 }),
    maxExtra: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 50 })),
    initialScale: fc.integer({ min: 0, max: 30 }),
    activationScale: fc.integer({ min: 1, max: 10 }),
    scaleToZeroGraceMs: fc.integer({ min: 0, max: 60_000 }),
    scaleToZeroRetentionMs: fc.integer({ min: 0, max: 60_000 }),
  })
  .map(({ maxExtra, ...rest }) => ({ ...rest, maxScale: maxExtra < 0 ? 0 : rest.minScale + maxExtra }));

t.test(
  "decider plus bounds: the scale asked of the platform stays within min-scale and max-scale",
  async (t) => {
    fc.assert(
      fc.property(
        spec,
        bounds,
        start,
        history,
        fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 120 }),
        (kpa, b, t0, steps, scheduled) => {
          const decider = new KpaDecider(kpa);
          const scaler = new ScaleBounds(b);
          let now = t0;
          let current = 0;
          for (const [i, s] of steps.entries()) {
            now += s.dtMs;
            if (s.record) decider.record(now, s.value);
            const decision = decider.decide(now, s.readyPods);
            const scheduledMin = Math.min(scheduled[i] ?? 0, b.maxScale || Number.POSITIVE_INFINITY);
            const { scale } = scaler.apply({
              now,
              wanted: decision.desiredPods,
              excessBurstCapacity: decision.excessBurstCapacity,
              current,
              readyPods: Math.min(s.readyPods, current),
              scheduledMin,
            });
            if (!Number.isInteger(scale) || scale < 0) return false;
            if (b.maxScale > 0 && scale > b.maxScale) return false;
            if (scale < b.minScale || scale < scheduledMin) return false;
            current = scale;
          }
          return true;
        },
      ),
      RUNS,
    );
    t.pass("held");
  },
);
