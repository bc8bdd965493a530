import { request } from "undici";

export interface ReadyQuestion {
  /** How long an answer may take beyond the wait (default 1 s). */
  timeoutMs?: number;
  /**
   * A long poll (default none): the queue-proxy answers as soon as the app is ready, or after
   * this long (one that does not know `wait` answers at once).
   */
  waitMs?: number;
}

/**
 * Asks a pod's queue-proxy whether it is ready (admin /readyz): true (200), false (any other
 * answer, 503 while the app is not ready or the pod drains) or undefined (no answer in time).
 */
export async function queueProxyReady(
  adminUrl: string,
  { timeoutMs = 1000, waitMs = 0 }: ReadyQuestion = {},
): Promise<boolean | undefined> {
  const limit = timeoutMs + waitMs;
  try {
    const res = await request(waitMs > 0 ? `${adminUrl}/readyz?wait=${waitMs}` : `${adminUrl}/readyz`, {
      headersTimeout: limit,
      bodyTimeout: limit,
      signal: AbortSignal.timeout(limit),
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return undefined;
  }
}
