import { MaxOverWindow } from "./max-over-window.ts";
import { WindowedAverage } from "./windowed-average.ts";

/** The knobs of one revision's KPA, in Knative's terms (see serving/autoscaling.ts for defaults). */
export interface KpaSpec {
  /** Per-pod value to aim for: target × utilization (Knative's TargetValue). */
  targetValue: number;
  /** Per-pod capacity for burst accounting: the target before utilization (TotalValue). */
  totalValue: number;
  /** -1: the activator always stays in the path; 0: only at zero. */
  targetBurstCapacity: number;
  stableWindowMs: number;
  /** The panic window, as a percentage of the stable window. */
  panicWindowPercentage: number;
  /** Panic when the panic-window pod count reaches this percentage of ready pods. */
  panicThresholdPercentage: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  activationScale: number;
  scaleDownDelayMs: number;
}

/** Knative's defaults for a revision without containerConcurrency: target 100 at 70 % utilization. */
export const KNATIVE_DEFAULT_KPA: KpaSpec = {
  targetValue: 70,
  totalValue: 100,
  targetBurstCapacity: 211,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  activationScale: 1,
  scaleDownDelayMs: 0,
};

export interface KpaDecision {
  /** -1 when there is no data yet (Knative's invalid result): keep the current scale. */
  desiredPods: number;
  excessBurstCapacity: number;
  observedStable: number;
  observedPanic: number;
  panicking: boolean;
}

/**
 * Knative's KPA decider (pkg/autoscaler/scaling/autoscaler.go), as pure code: record the
 * revision-wide metric every second, ask for a decision every tick. Time is passed in.
 */
export class KpaDecider {
  readonly spec: KpaSpec;
  readonly #stable: WindowedAverage;
  readonly #panic: WindowedAverage;
  readonly #delay: MaxOverWindow | undefined;
  #panicSince: number | undefined;
  #maxPanicPods = 0;
  /** The last pod count decided (with data), so a panic starts from no fewer pods. */
  #lastDesired = 0;

  constructor(spec: KpaSpec) {
    this.spec = spec;
    this.#stable = new WindowedAverage(spec.stableWindowMs);
    this.#panic = new WindowedAverage((spec.stableWindowMs * spec.panicWindowPercentage) / 100);
    this.#delay = spec.scaleDownDelayMs > 0 ? new MaxOverWindow(spec.scaleDownDelayMs) : undefined;
  }

  /** The revision's total (all pods + activator) concurrency or rps observed at `now`. */
  record(now: number, value: number): void {
    this.#stable.record(now, value);
    this.#panic.record(now, value);
  }

  /**
   * `reachable`: some route sends to the revision. An unreachable one (Knative's Reachability
   * Unreachable) scales down without the rate limit or the scale-down delay.
   */
  decide(now: number, readyPods: number, reachable = true): KpaDecision {
    const { spec } = this;
    const observedStable = this.#stable.average(now);
    const observedPanic = this.#panic.average(now);
    if (observedStable === undefined || observedPanic === undefined) {
      return {
        desiredPods: -1,
        excessBurstCapacity: 0,
        observedStable: 0,
        observedPanic: 0,
        panicking: this.#panicSince !== undefined,
      };
    }
    const ready = Math.max(1, readyPods);
    // Grow by at least one pod even when the rate would not allow it; shrink at most by the rate.
    const maxScaleUp = Math.ceil(spec.maxScaleUpRate * ready);
    const maxScaleDown = reachable ? Math.floor(ready / spec.maxScaleDownRate) : 0;
    const stablePods = Math.ceil(observedStable / spec.targetValue);
    const panicPods = Math.ceil(observedPanic / spec.targetValue);
    let desiredStable = Math.min(Math.max(stablePods, maxScaleDown), maxScaleUp);
    let desiredPanic = Math.min(Math.max(panicPods, maxScaleDown), maxScaleUp);
    if (spec.activationScale > 1) {
      if (stablePods > 0 && spec.activationScale > desiredStable) desiredStable = spec.activationScale;
      if (panicPods > 0 && spec.activationScale > desiredPanic) desiredPanic = spec.activationScale;
    }

    const overThreshold = panicPods / ready >= spec.panicThresholdPercentage / 100;
    if (overThreshold) {
      // Entering: never below what was asked for just before (a scale-down delay may be holding
      // more pods than the panic window wants), so a panic cannot scale down.
      if (this.#panicSince === undefined) this.#maxPanicPods = this.#lastDesired;
      this.#panicSince = now; // enter, or extend
    } else if (this.#panicSince !== undefined && this.#panicSince + spec.stableWindowMs < now) {
      // The surge has made its way into the stable window: stop panicking.
      this.#panicSince = undefined;
      this.#maxPanicPods = 0;
    }

    let desired = desiredStable;
    if (this.#panicSince !== undefined) {
      // Provision for the larger of the two, and never scale down while panicking.
      desired = Math.max(desired, desiredPanic);
      this.#maxPanicPods = Math.max(this.#maxPanicPods, desired);
      desired = this.#maxPanicPods;
    }
    if (this.#delay && reachable) {
      this.#delay.record(now, desired);
      desired = this.#delay.current(now);
    }
    this.#lastDesired = desired;

    // Negative excess burst capacity means the pods cannot absorb a burst of targetBurstCapacity
    // on top of the current load: keep the activator in the path.
    let excessBurstCapacity = -1;
    if (spec.targetBurstCapacity === 0) excessBurstCapacity = 0;
    else if (spec.targetBurstCapacity > 0) {
      excessBurstCapacity = Math.floor(
        readyPods * spec.totalValue - spec.targetBurstCapacity - observedPanic,
      );
    }
    return {
      desiredPods: desired,
      excessBurstCapacity,
      observedStable,
      observedPanic,
      panicking: this.#panicSince !== undefined,
    };
  }
}
