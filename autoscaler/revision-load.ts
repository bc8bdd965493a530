import type { ActivatorRevisionStats } from "../common/activator-stats.ts";
import type { PodStats } from "../common/pod-stats.ts";

/** Requests in flight, and per second, across a revision. */
export interface RevisionLoad {
  concurrency: number;
  rps: number;
}

/**
 * A revision's load for one tick, as the KPA sees it: what the pods report, minus the part that
 * came through the activator (Knative's proxied concurrency), plus what the activator holds or
 * forwards — so a request is counted once whichever way it came.
 */
export function revisionLoad(
  pods: readonly PodStats[],
  activators: readonly ActivatorRevisionStats[],
): RevisionLoad {
  let concurrency = 0;
  let rps = 0;
  for (const pod of pods) {
    concurrency += Math.max(0, pod.averageConcurrency - pod.averageProxiedConcurrency);
    if (pod.windowSeconds > 0)
      rps += Math.max(0, pod.requestCount - pod.proxiedRequestCount) / pod.windowSeconds;
  }
  for (const push of activators) {
    concurrency += push.averageConcurrency;
    if (push.windowSeconds > 0) rps += push.requestCount / push.windowSeconds;
  }
  return { concurrency, rps };
}
