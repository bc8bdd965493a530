import { request } from "undici";

/**
 * Asks a pod's queue-proxy whether it is ready (admin /readyz): true (200), false (any other
 * answer, 503 while the app is not ready or the pod drains) or undefined (no answer in time).
 * With `waitMs`, a long poll: the queue-proxy answers as soon as the app is ready, or after
 * `waitMs` (one that does not know `wait` answers at once).
 */
export async function queueProxyReady(
  adminUrl: string,
  timeoutMs = 1000,
  waitMs = 0,
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
