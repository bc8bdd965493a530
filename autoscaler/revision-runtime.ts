import type { ActivatorRevisionStats } from "../common/activator-stats.ts";
import { type RevisionMode, revisionKey } from "../common/state.ts";
import type { PodTemplate } from "../platform/platform.ts";
import { type AutoscalingSpec, parseAutoscaling } from "../serving/autoscaling.ts";
import type { Revision } from "../serving/revisions.ts";
import { parseSchedule, type ScheduleWindow } from "../serving/schedule.ts";
import type { AutoscalerConfig } from "./config.ts";
import type { KpaDecision } from "./kpa.ts";
import { KpaDecider } from "./kpa.ts";
import { podTemplate } from "./pod-template.ts";
import type { RevisionLoad } from "./revision-load.ts";
import { ScaleBounds } from "./scale-bounds.ts";
import { sinkEnvFor } from "./sink-bindings.ts";

/** Everything the autoscaler keeps about one revision while it runs. */
export interface RevisionRuntime {
  /** revisionKey(namespace, name): how the controller, the platform and the state know it. */
  key: string;
  revision: Revision;
  template: PodTemplate;
  autoscaling: AutoscalingSpec;
  decider: KpaDecider;
  bounds: ScaleBounds;
  schedule: ScheduleWindow[];
  /** The scale last requested from the platform. */
  desired: number;
  mode: RevisionMode;
  lastDecision: KpaDecision | undefined;
  /** The revision-wide load the last tick recorded (for status: the KPA keeps only its metric). */
  load: RevisionLoad;
  /** First time a pod was ready: from then on it can be "latest ready". */
  readyAt: number | undefined;
  /** Activator pushes since the last tick, by activator. */
  activatorStats: Map<string, ActivatorRevisionStats>;
  /** When no route referenced it any more (for garbage collection). */
  unreferencedSince: number | undefined;
}

export function createRuntime(
  revision: Revision & { readyAt?: number },
  config: AutoscalerConfig,
): RevisionRuntime {
  const template = podTemplate(revision, sinkEnvFor(config.stateDir, revision));
  const { spec } = parseAutoscaling(revision.template.metadata?.annotations, template.containerConcurrency);
  return {
    key: revisionKey(revision.namespace, revision.name),
    revision,
    template,
    autoscaling: spec,
    decider: new KpaDecider({
      targetValue: spec.target * spec.targetUtilization,
      totalValue: spec.target,
      targetBurstCapacity: spec.targetBurstCapacity,
      stableWindowMs: spec.stableWindowMs,
      panicWindowPercentage: spec.panicWindowPercentage,
      panicThresholdPercentage: spec.panicThresholdPercentage,
      maxScaleUpRate: config.maxScaleUpRate,
      maxScaleDownRate: config.maxScaleDownRate,
      activationScale: spec.activationScale,
      scaleDownDelayMs: spec.scaleDownDelayMs,
    }),
    bounds: new ScaleBounds({
      minScale: spec.minScale,
      maxScale: spec.maxScale,
      // A revision that was ready before a restart has reached its initial scale already.
      initialScale: revision.readyAt === undefined ? spec.initialScale : 0,
      activationScale: spec.activationScale,
      scaleToZeroGraceMs: config.scaleToZeroGraceMs,
      scaleToZeroRetentionMs: spec.scaleToZeroRetentionMs,
    }),
    schedule: spec.schedule ? parseSchedule(spec.schedule).windows : [],
    desired: 0,
    mode: "proxy",
    lastDecision: undefined,
    load: { concurrency: 0, rps: 0 },
    // Knative: a revision allowed to start at zero is ready without pods (requests wait in the activator).
    readyAt: revision.readyAt ?? (spec.initialScale === 0 ? revision.createdAt : undefined),
    activatorStats: new Map(),
    unreferencedSince: undefined,
  };
}
