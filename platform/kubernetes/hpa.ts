import type { V2HorizontalPodAutoscaler, V2MetricSpec } from "@kubernetes/client-node";
import { parseAutoscaling } from "../../serving/autoscaling.ts";
import type { Revision } from "../../serving/revisions.ts";
import { deploymentName, hpaName, revisionChildMetadata, type ServingGroup, SLUICE_GROUP } from "./names.ts";

const TARGET = "autoscaling.knative.dev/target";
const WINDOW = "autoscaling.knative.dev/window";
/** Kubernetes' own default target when an HPA names no metric (80 % CPU), used when none is given. */
const DEFAULT_UTILIZATION = 80;
const UNBOUNDED = 2_147_483_647;

/**
 * The autoscaling/v2 HorizontalPodAutoscaler of a revision of class hpa.autoscaling.knative.dev,
 * or undefined for any other class (sluice's own autoscaler scales those). As Knative: metric cpu
 * → target = average utilization in percent; memory → target = average value in MiB; min-scale and
 * max-scale bound it (at least 1: an HPA cannot scale to zero); an explicit window becomes the
 * stabilization window both ways. Without a target, cpu and memory aim at 80 % utilization (Knative
 * leaves the HPA's metric out then, which turns a memory revision into a CPU-scaled one).
 * `scheduledMinScale` is the schedule annotation's minimum at this time (it raises min-scale).
 */
export function revisionHpa(
  revision: Revision,
  revisionUid: string,
  group: ServingGroup = SLUICE_GROUP,
  scheduledMinScale = 0,
): V2HorizontalPodAutoscaler | undefined {
  const annotations = revision.template.metadata?.annotations ?? {};
  const { spec } = parseAutoscaling(annotations, revision.template.spec.containerConcurrency ?? 0);
  if (spec.class !== "hpa") return undefined;
  const hasTarget = annotations[TARGET] !== undefined;
  const metric: V2MetricSpec =
    spec.metric === "memory"
      ? {
          type: "Resource",
          resource: {
            name: "memory",
            target: hasTarget
              ? { type: "AverageValue", averageValue: `${Math.floor(spec.target)}Mi` }
              : { type: "Utilization", averageUtilization: DEFAULT_UTILIZATION },
          },
        }
      : {
          type: "Resource",
          resource: {
            name: "cpu",
            target: {
              type: "Utilization",
              averageUtilization: hasTarget ? Math.ceil(spec.target) : DEFAULT_UTILIZATION,
            },
          },
        };
  const minReplicas = Math.max(1, spec.minScale, scheduledMinScale);
  const maxReplicas = spec.maxScale === 0 ? UNBOUNDED : Math.max(spec.maxScale, minReplicas);
  const windowSeconds =
    annotations[WINDOW] === undefined ? undefined : Math.round(spec.stableWindowMs / 1000);
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: revisionChildMetadata(hpaName(revision.name), group, revision, revisionUid),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName(revision.name) },
      minReplicas,
      maxReplicas,
      metrics: [metric],
      ...(windowSeconds === undefined
        ? {}
        : {
            behavior: {
              scaleDown: { stabilizationWindowSeconds: windowSeconds },
              scaleUp: { stabilizationWindowSeconds: windowSeconds },
            },
          }),
    },
  };
}
