/**
 * Restart delay after the n-th crash in a row (Kubernetes' CrashLoopBackOff shape: doubling from
 * the base, capped), and when to give up on a revision whose pods never became ready.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Crashes in a row before ever becoming ready after which the revision is reported failed. */
  failAfterCrashes: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000, failAfterCrashes: 3 };

export function restartDelay(policy: BackoffPolicy, crashesInARow: number): number {
  if (crashesInARow <= 0) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** (crashesInARow - 1));
}
