import type { ActivatorStats } from "../common/activator-stats.ts";
import { revisionKey } from "../common/state.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

export interface StatsIntake {
  /** Keys of the revisions the push named that are not running here. */
  unknown: string[];
  /**
   * Revisions a poke named (requests wait for them in an activator with no ready pod): decide
   * their scale now, not at the next tick; `scale` is the least to scale to from zero.
   */
  poked: { runtime: RevisionRuntime; scale: number }[];
}

/**
 * Takes an activator's push: keeps each revision's figures for the next tick (by activator, so
 * several activators add up), and names the revisions a poke asks to decide now, each with the
 * least scale to start from zero.
 */
export function takeActivatorStats(
  push: ActivatorStats,
  running: ReadonlyMap<string, RevisionRuntime>,
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
    if (stats.poke) {
      const { activationScale, minScale } = runtime.autoscaling;
      intake.poked.push({ runtime, scale: Math.max(1, activationScale, minScale) });
    }
  }
  return intake;
}
