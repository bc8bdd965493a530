import { request } from "undici";

/**
 * Asks a pod's queue-proxy whether it is ready (admin /readyz): true (200), false (any other
 * answer, 503 while the app is not ready or the pod drains) or undefined (no answer in time).
 */
export async function queueProxyReady(adminUrl: string, timeoutMs = 1000): Promise<boolean | undefined> {
  try {
    const res = await request(`${adminUrl}/readyz`, {
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return undefined;
  }
}
