// When `sluice up` restarts a component that died, and when it gives up: back-off doubling from
// a short first delay, and a bound on deaths within a window so that a component that keeps
// dying (a bad port, a broken build) stops the whole instead of looping forever.

export interface RestartPolicyOptions {
  /** The delay before the first restart after a stable run. */
  firstDelayMs: number;
  /** The delay doubles with each death up to this. */
  maxDelayMs: number;
  /** This many deaths within `windowMs` give up. */
  maxDeaths: number;
  windowMs: number;
  /** A run at least this long counts as stable: back-off and death count start again. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  firstDelayMs: 500,
  maxDelayMs: 10_000,
  maxDeaths: 5,
  windowMs: 60_000,
  stableAfterMs: 30_000,
};

/** What a component's deaths so far say; start with `NO_DEATHS`. */
export interface DeathRecord {
  /** Deaths since the last stable run: the back-off grows with them. */
  consecutive: number;
  /** When the deaths within the window happened (ms), oldest first. */
  recent: number[];
}

export const NO_DEATHS: DeathRecord = { consecutive: 0, recent: [] };

export type RestartDecision =
  | { action: "restart"; delayMs: number; record: DeathRecord }
  | { action: "give-up"; deathsInWindow: number; record: DeathRecord };

/**
 * Decides about a component that died at `diedAt` after starting at `startedAt` (both ms).
 * A stable run forgets earlier deaths; deaths older than the window do not count toward giving
 * up, but still lengthen the back-off until a stable run.
 */
export function onDeath(
  record: DeathRecord,
  startedAt: number,
  diedAt: number,
  options: RestartPolicyOptions = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const before = diedAt - startedAt >= options.stableAfterMs ? NO_DEATHS : record;
  const recent = [...before.recent, diedAt].filter((at) => diedAt - at < options.windowMs);
  const next = { consecutive: before.consecutive + 1, recent };
  if (recent.length >= options.maxDeaths)
    return { action: "give-up", deathsInWindow: recent.length, record: next };
  const delayMs = Math.min(options.firstDelayMs * 2 ** (next.consecutive - 1), options.maxDelayMs);
  return { action: "restart", delayMs, record: next };
}
