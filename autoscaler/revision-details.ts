import type { RevisionState } from "../common/state.ts";
import type { RevisionPods } from "../platform/platform.ts";
import type { AutoscalingSpec } from "../serving/autoscaling.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

/** One revision as the controller sees it, for status (read-only). */
export interface RevisionDetail {
  desired: number;
  mode: RevisionState["mode"];
  readyPods: number;
  /** Pods the platform runs, ready or not (pending ones not included). */
  pods: number;
  /** Pods waiting for room on the machine (the local platform's capacity). */
  pendingPods: number;
  metric: AutoscalingSpec["metric"];
  /** Per-pod target of `metric`, before utilization. */
  target: number;
  /** The KPA's stable- and panic-window averages of `metric`. */
  observedStable: number;
  observedPanic: number;
  panicking: boolean;
  /** Revision-wide concurrency and requests per second at the last tick. */
  concurrency: number;
  rps: number;
}

/** Status detail for the CLI and the status page (GET /v1/services, GET /v1/status), by revision key. */
export function revisionDetails(
  running: Iterable<RevisionRuntime>,
  pods: (key: string) => RevisionPods | undefined,
): Record<string, RevisionDetail> {
  const out: Record<string, RevisionDetail> = {};
  for (const runtime of running) {
    const current = pods(runtime.key)?.pods ?? [];
    out[runtime.key] = {
      desired: runtime.desired,
      mode: runtime.mode,
      readyPods: current.filter((pod) => pod.phase === "ready").length,
      pods: current.filter((pod) => pod.phase !== "pending").length,
      pendingPods: current.filter((pod) => pod.phase === "pending").length,
      metric: runtime.autoscaling.metric,
      target: runtime.autoscaling.target,
      observedStable: runtime.lastDecision?.observedStable ?? 0,
      observedPanic: runtime.lastDecision?.observedPanic ?? 0,
      panicking: runtime.lastDecision?.panicking ?? false,
      concurrency: runtime.load.concurrency,
      rps: runtime.load.rps,
    };
  }
  return out;
}
