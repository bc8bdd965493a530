import type { ActivatorStats } from "../common/activator-stats.ts";
import { revisionKey } from "../common/state.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

export interface StatsIntake {
  /** Keys of the revisions the push named that are not running here. */
  unknown: string[];
  /** Revisions at zero a request is waiting for: scale each to `scale` now, not at the next tick. */
  poked: { runtime: RevisionRuntime; scale: number }[];
}

/**
 * Takes an activator's push: keeps each revision's figures for the next tick (by activator, so
 * several activators add up), and for a poke at zero records the demand and says how far to scale.
 */
export function takeActivatorStats(
  push: ActivatorStats,
  running: ReadonlyMap<string, RevisionRuntime>,
  now: number,
): StatsIntake {
  const intake: StatsIntake = { unknown: [], poked: [] };
  for (const stats of push.revisions) {
    const key = revisionKey(stats.namespace, stats.revision);
    const runtime = running.get(key);
    if (!runtime) {
      intake.unknown.push(key);
      continue;
    }
    runtime.activatorStats.set(push.activator, stats);
    if (stats.poke && runtime.desired === 0) {
      runtime.decider.record(now, Math.max(1, stats.averageConcurrency));
      const { activationScale, minScale } = runtime.autoscaling;
      intake.poked.push({ runtime, scale: Math.max(1, activationScale, minScale) });
    }
  }
  return intake;
}
