import { request } from "undici";

const PROBE_HEADER = "k-network-probe";
const PROBE_VALUE = "queue";
const RETRY_MS = 50;
const GIVE_UP_MS = 30_000;

/**
 * Asks a new pod's queue-proxy whether it is ready (Knative's K-Network-Probe) before it gets
 * traffic; retries every 50 ms until it is, the pod is gone, or 30 s pass.
 */
export async function probeUntilReady(url: string, stillWanted: () => boolean): Promise<boolean> {
  const deadline = Date.now() + GIVE_UP_MS;
  while (stillWanted() && Date.now() < deadline) {
    try {
      const res = await request(url, {
        headers: { [PROBE_HEADER]: PROBE_VALUE },
        headersTimeout: 1000,
        bodyTimeout: 1000,
      });
      const body = await res.body.text();
      if (res.statusCode === 200 && body.trim() === PROBE_VALUE) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  return false;
}
