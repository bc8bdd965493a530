import { request } from "undici";
import type { HopAuth } from "../common/hop-auth.ts";
import { PROBE_HEADER } from "../common/internal-headers.ts";

const PROBE_VALUE = "queue";
const RETRY_MS = 50;
const GIVE_UP_MS = 30_000;

/**
 * Asks a new pod's queue-proxy whether it is ready (Knative's K-Network-Probe, with the hop
 * secret so that the queue-proxy believes it) before it gets traffic; retries every 50 ms until
 * it is, `signal` aborts (the pod or its revision is gone), or 30 s pass.
 */
export async function probeUntilReady(url: string, auth: HopAuth, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + GIVE_UP_MS;
  const headers = [PROBE_HEADER, PROBE_VALUE, ...auth.header];
  while (!signal.aborted && Date.now() < deadline) {
    try {
      const res = await request(url, { headers, headersTimeout: 1000, bodyTimeout: 1000, signal });
      const body = await res.body.text();
      if (res.statusCode === 200 && body.trim() === PROBE_VALUE) return true;
    } catch {
      // not listening yet, or aborted
    }
    if (signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  return false;
}
