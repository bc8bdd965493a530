/**
 * Exponential back-off with jitter and a cap, as client-go's wait.Backoff uses for reconnecting
 * watches and requeueing work: the n-th failure in a row waits base·2^(n-1), capped, then
 * stretched by up to `jitter` of itself so that many clients do not retry in lockstep.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 0.5 stretches each delay by a random 0–50 %; the cap applies after the jitter. */
  jitter?: number;
}

export function backoffDelay(
  options: BackoffOptions,
  failuresInARow: number,
  random: () => number = Math.random,
): number {
  if (failuresInARow <= 0) return 0;
  const exponential = options.baseMs * 2 ** Math.min(failuresInARow - 1, 52);
  const jittered = exponential * (1 + (options.jitter ?? 0) * random());
  return Math.min(options.maxMs, jittered);
}
