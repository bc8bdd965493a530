// When a failed delivery is tried again, from a Trigger's delivery spec. Knative's formulas, with
// n the number of the retry being scheduled (1 for the first): linear waits backoffDelay × n,
// exponential backoffDelay × 2^n. The wait is carried by JetStream (a negative ack with a delay),
// not by a timer here, so a dispatcher that restarts keeps both the count and the schedule.

export interface RetryPolicy {
  /** Retries after the first attempt; 0 sends a failed event straight to the dead-letter sink. */
  retry: number;
  backoffPolicy: "exponential" | "linear";
  backoffDelayMs: number;
}

/** Longest wait between two attempts: an exponential policy with many retries stays a usable number. */
export const MAX_BACKOFF_MS = 24 * 3_600_000;

/** The wait before retry `n` (1-based). */
export function backoffDelay(policy: RetryPolicy, n: number): number {
  const factor = policy.backoffPolicy === "linear" ? n : 2 ** n;
  return Math.min(policy.backoffDelayMs * factor, MAX_BACKOFF_MS);
}

/**
 * After attempt number `attempt` (1 = the first delivery) failed: wait and try again, or give up
 * (dead-letter sink, or drop when there is none).
 */
export function afterFailure(policy: RetryPolicy, attempt: number): { retryInMs: number } | "give-up" {
  if (attempt > policy.retry) return "give-up";
  return { retryInMs: backoffDelay(policy, attempt) };
}
