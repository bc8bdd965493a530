import type { PodStats } from "../common/pod-stats.ts";
import type { RevisionMode } from "../common/state.ts";
import { scheduledMinScale } from "../serving/schedule.ts";
import { type RevisionLoad, revisionLoad } from "./revision-load.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

/**
 * One revision's decision in a tick: its load (the pods' scraped stats and the activator's pushes
 * since the last tick) into the KPA, then the KPA's wish bounded by min/max/initial scale, the
 * schedule and scale-to-zero. A revision no route references goes to zero behind the activator
 * once a stable window passes without requests for it.
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

function recordLoad(runtime: RevisionRuntime, load: RevisionLoad, now: number): void {
  runtime.decider.record(now, runtime.autoscaling.metric === "rps" ? load.rps : load.concurrency);
  runtime.load = load;
}

function decide(
  runtime: RevisionRuntime,
  readyPods: number,
  referenced: boolean,
  now: number,
): { scale: number; mode: RevisionMode } {
  const decision = runtime.decider.decide(now, readyPods, referenced);
  runtime.lastDecision = decision;
  if (!referenced) {
    runtime.unreferencedSince ??= now;
    return { scale: unreferencedScale(runtime, decision.desiredPods), mode: "proxy" };
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
 * An unreferenced revision's count, as Knative scales an unreachable revision: what the KPA asks
 * for its load (no window's worth of it left: zero), without the floor (min and initial scale) or
 * the scale-down rate and delay. Requests still sent to it (a router not told yet, requests an
 * activator holds, a stream still open) keep pods until a stable window passes without any; a
 * flat 0 left such a request waiting at the activator for its timeout.
 */
function unreferencedScale(runtime: RevisionRuntime, wanted: number): number {
  const { maxScale } = runtime.bounds.spec;
  if (wanted <= 0) return 0;
  return maxScale > 0 ? Math.min(wanted, maxScale) : wanted;
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
