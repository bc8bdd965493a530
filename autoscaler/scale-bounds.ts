import type { RevisionMode } from "../common/state.ts";

/**
 * From the decider's wish to the scale actually requested (Knative's pkg/reconciler/autoscaling/kpa
 * scaler): bounds, initial scale, and the path to zero — the activator goes in front first, and
 * only after the grace period (and the last pod's retention) do the pods go.
 */
export interface BoundsSpec {
  minScale: number;
  /** 0 = unbounded. */
  maxScale: number;
  initialScale: number;
  activationScale: number;
  /** Time with the activator in the path before scaling to zero (Knative: 30 s). */
  scaleToZeroGraceMs: number;
  /** The last pod stays at least this long after the decision to go to zero. */
  scaleToZeroRetentionMs: number;
}

export interface ScaleInput {
  now: number;
  /** The decider's pod count, or -1 when it has no data yet. */
  wanted: number;
  excessBurstCapacity: number;
  /** The scale currently requested from the platform. */
  current: number;
  readyPods: number;
  /** Minimum from the time-of-day schedule. */
  scheduledMin: number;
}

export interface ScaleOutput {
  scale: number;
  mode: RevisionMode;
}

export class ScaleBounds {
  readonly spec: BoundsSpec;
  /** Reached initial scale once (Knative: ScaleTargetInitialized). */
  initialized: boolean;
  #zeroSince: number | undefined;

  constructor(spec: BoundsSpec) {
    this.spec = spec;
    this.initialized = spec.initialScale === 0;
  }

  apply(input: ScaleInput): ScaleOutput {
    const { spec } = this;
    if (!this.initialized && input.readyPods >= spec.initialScale) this.initialized = true;
    let scale = input.wanted < 0 ? input.current : input.wanted;
    if (!this.initialized) scale = Math.max(scale, spec.initialScale);
    if (scale > 0 && input.current === 0) scale = Math.max(scale, spec.activationScale);
    scale = Math.max(scale, spec.minScale, input.scheduledMin);
    if (spec.maxScale > 0) scale = Math.min(scale, spec.maxScale);

    if (scale > 0) {
      this.#zeroSince = undefined;
      const burstShort = input.excessBurstCapacity < 0;
      return { scale, mode: burstShort || input.readyPods === 0 ? "proxy" : "serve" };
    }
    // Going to zero: put the activator in the path and keep the pods through the grace period
    // (so requests arriving meanwhile are held, not lost), and the last pod through retention.
    this.#zeroSince ??= input.now;
    const waited = input.now - this.#zeroSince;
    if (input.current > 0 && waited < Math.max(spec.scaleToZeroGraceMs, spec.scaleToZeroRetentionMs)) {
      const keep = waited < spec.scaleToZeroGraceMs ? input.current : 1;
      return { scale: keep, mode: "proxy" };
    }
    return { scale: 0, mode: "proxy" };
  }
}
