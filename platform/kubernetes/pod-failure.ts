import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";

/** Why a pod cannot serve, in terms a user acts on. */
export interface PodFailure {
  kind: "image" | "config" | "crash" | "unschedulable";
  /** Kubernetes' reason (ImagePullBackOff, CreateContainerConfigError, CrashLoopBackOff, Unschedulable…). */
  reason: string;
  /** One line naming the container and what Kubernetes said. */
  message: string;
  container?: string;
}

const IMAGE_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "RegistryUnavailable",
  "ImageInspectError",
]);
/** A Secret or ConfigMap the pod refers to is missing, or the container cannot be created. */
const CONFIG_REASONS = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

/**
 * The pod's failure, or undefined while it is starting, running or ready. Container problems
 * come first (init containers before the others), then scheduling.
 */
export function podFailure(pod: V1Pod): PodFailure | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const failure = containerFailure(status);
    if (failure) return failure;
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable")
    return {
      kind: "unschedulable",
      reason: "Unschedulable",
      message: `the pod cannot be scheduled: ${scheduled.message ?? "no node fits"}`,
    };
  return undefined;
}

function containerFailure(status: V1ContainerStatus): PodFailure | undefined {
  const container = status.name;
  const waiting = status.state?.waiting;
  if (waiting?.reason && IMAGE_REASONS.has(waiting.reason))
    return {
      kind: "image",
      reason: waiting.reason,
      container,
      message: `container ${container}: cannot pull image ${status.image}${waiting.message ? `: ${waiting.message}` : ""}`,
    };
  if (waiting?.reason && CONFIG_REASONS.has(waiting.reason))
    return {
      kind: "config",
      reason: waiting.reason,
      container,
      message: `container ${container}: ${waiting.message ?? waiting.reason}`,
    };
  const terminated =
    status.state?.terminated ??
    (waiting?.reason === "CrashLoopBackOff" ? status.lastState?.terminated : undefined);
  if (waiting?.reason === "CrashLoopBackOff" || (terminated && terminated.exitCode !== 0)) {
    const exit = terminated
      ? `${terminated.reason === "OOMKilled" ? "was killed for exceeding its memory limit (OOMKilled)" : `exited with code ${terminated.exitCode}`}`
      : "keeps exiting";
    const said = terminated?.message?.trim()
      ? `: ${terminated.message.trim().split("\n").slice(-3).join(" | ")}`
      : "";
    return {
      kind: "crash",
      reason:
        waiting?.reason === "CrashLoopBackOff"
          ? "CrashLoopBackOff"
          : terminated?.reason === "OOMKilled"
            ? "OOMKilled"
            : `ExitCode${terminated?.exitCode}`,
      container,
      message: `container ${container} ${exit}${status.restartCount > 0 ? ` (restarted ${status.restartCount} times)` : ""}${said}`,
    };
  }
  return undefined;
}

/**
 * A revision's failure from its pods: none while any pod is ready, else the failure most of them
 * share (the first pod's when they differ). A revision with pods still starting and none failed has
 * no failure: it is scaling.
 */
export function revisionFailure(pods: readonly V1Pod[]): PodFailure | undefined {
  const ready = pods.some((pod) =>
    pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True"),
  );
  if (ready) return undefined;
  const failures = pods
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .map(podFailure)
    .filter((failure): failure is PodFailure => failure !== undefined);
  if (failures.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const failure of failures) counts.set(failure.reason, (counts.get(failure.reason) ?? 0) + 1);
  const top = Math.max(...counts.values());
  return failures.find((failure) => counts.get(failure.reason) === top);
}
