import type { PodStats } from "../common/pod-stats.ts";
import type { RevisionMode } from "../common/state.ts";
import { scheduledMinScale } from "../serving/schedule.ts";
import { revisionLoad } from "./revision-load.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

/**
 * One revision's decision in a tick: its load (the pods' scraped stats and the activator's pushes
 * since the last tick) into the KPA, then the KPA's wish bounded by min/max/initial scale, the
 * schedule and scale-to-zero. A revision no route references goes to zero behind the activator.
 * Updates the runtime's KPA state and load; the caller scales to the answer.
 */
export function decideScale(
  runtime: RevisionRuntime,
  pods: readonly PodStats[],
  readyPods: number,
  referenced: boolean,
  now: number,
): { scale: number; mode: RevisionMode } {
  const load = revisionLoad(pods, [...runtime.activatorStats.values()]);
  runtime.activatorStats.clear();
  // No scrape from ready pods (all failed) is no news, not zero load.
  if (pods.length > 0 || readyPods === 0) recordLoad(runtime, load, now);
  return decide(runtime, readyPods, referenced, now);
}

/**
 * A poke's decision, between ticks, for a revision with no ready pod: its load is what the
 * activators hold (the poke's figure among them), recorded as one more sample of the windows;
 * their figures stay for the tick, which records them as it would have.
 */
export function decideOnPoke(
  runtime: RevisionRuntime,
  referenced: boolean,
  now: number,
): { scale: number; mode: RevisionMode } {
  recordLoad(runtime, revisionLoad([], [...runtime.activatorStats.values()]), now);
  return decide(runtime, 0, referenced, now);
}

function recordLoad(runtime: RevisionRuntime, load: { concurrency: number; rps: number }, now: number): void {
  runtime.decider.record(now, runtime.autoscaling.metric === "rps" ? load.rps : load.concurrency);
  runtime.load = load;
}

function decide(
  runtime: RevisionRuntime,
  readyPods: number,
  referenced: boolean,
  now: number,
): { scale: number; mode: RevisionMode } {
  const decision = runtime.decider.decide(now, readyPods);
  runtime.lastDecision = decision;
  if (!referenced) {
    runtime.unreferencedSince ??= now;
    return { scale: 0, mode: "proxy" };
  }
  runtime.unreferencedSince = undefined;
  return runtime.bounds.apply({
    now,
    wanted: decision.desiredPods,
    excessBurstCapacity: decision.excessBurstCapacity,
    current: runtime.desired,
    readyPods,
    scheduledMin: scheduledMinScale(runtime.schedule, new Date(now)),
  });
}

/**
 * A revision an HPA scales (class hpa.autoscaling.knative.dev, in a cluster): its load is still
 * recorded (for status), but the count is the HPA's, so the answer only follows the pods there
 * are; with pods ready the router goes straight to them (an HPA never scales to zero).
 */
export function followHpa(
  runtime: RevisionRuntime,
  pods: readonly PodStats[],
  readyPods: number,
  referenced: boolean,
  now: number,
): { scale: number; mode: RevisionMode } {
  runtime.load = revisionLoad(pods, [...runtime.activatorStats.values()]);
  runtime.activatorStats.clear();
  if (referenced) runtime.unreferencedSince = undefined;
  else {
    // Unreferenced: 0, so the garbage collector takes it (the HPA's floor is not the count then).
    runtime.unreferencedSince ??= now;
    return { scale: 0, mode: "proxy" };
  }
  return { scale: readyPods, mode: readyPods > 0 ? "serve" : "proxy" };
}
