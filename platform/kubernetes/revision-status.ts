import type { V1Pod } from "@kubernetes/client-node";
import { type Condition, type ConditionInput, stampConditions, summarise } from "./conditions.ts";
import { type PodFailure, revisionFailure } from "./pod-failure.ts";

/** What the controller knows of a revision's health. */
export type RevisionHealth =
  | { state: "ready" }
  | { state: "scaling" }
  | { state: "failed"; failure: PodFailure };

/**
 * A revision's health from its pods: ready while a pod is ready, or at any scale once it has been
 * ready (a revision at zero is still a good revision); failed when no pod is ready and they fail
 * (pod-failure.ts); scaling otherwise (pods starting, or none yet).
 */
export function revisionHealth(pods: readonly V1Pod[], everReady: boolean): RevisionHealth {
  const anyReady = pods.some((pod) =>
    pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True"),
  );
  if (anyReady) return { state: "ready" };
  const failure = revisionFailure(pods);
  if (failure) return { state: "failed", failure };
  return everReady ? { state: "ready" } : { state: "scaling" };
}

export interface RevisionStatus {
  observedGeneration?: number;
  conditions: Condition[];
  desiredReplicas: number;
  actualReplicas: number;
}

/**
 * The Revision object's status, Knative-shaped: ContainerHealthy (image, config and crash
 * failures), ResourcesAvailable (scheduling), Active (whether it has pods: False with NoTraffic at
 * zero, which does not make it unready), and Ready summarising the first two.
 */
export function revisionStatus(
  health: RevisionHealth,
  replicas: { desired: number; actual: number },
  previous: RevisionStatus | undefined,
  now: Date,
  generation?: number,
): RevisionStatus {
  let containerHealthy: ConditionInput = { type: "ContainerHealthy", status: "True" };
  let resources: ConditionInput = { type: "ResourcesAvailable", status: "True" };
  if (health.state === "scaling") {
    containerHealthy = { type: "ContainerHealthy", status: "Unknown", reason: "Deploying" };
    resources = {
      type: "ResourcesAvailable",
      status: "Unknown",
      reason: "Deploying",
      message: "waiting for the first pod to become ready",
    };
  } else if (health.state === "failed") {
    const { failure } = health;
    const failed: ConditionInput = {
      type: failure.kind === "unschedulable" ? "ResourcesAvailable" : "ContainerHealthy",
      status: "False",
      reason: failure.reason,
      message: failure.message,
    };
    if (failure.kind === "unschedulable") resources = failed;
    else containerHealthy = failed;
  }
  const active: ConditionInput =
    replicas.actual > 0 || replicas.desired > 0
      ? { type: "Active", status: "True" }
      : { type: "Active", status: "False", reason: "NoTraffic", message: "scaled to zero: no requests" };
  const ready = summarise([resources, containerHealthy]);
  return {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions: stampConditions([ready, containerHealthy, resources, active], previous?.conditions, now),
    desiredReplicas: replicas.desired,
    actualReplicas: replicas.actual,
  };
}
