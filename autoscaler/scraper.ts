import { type Dispatcher, request } from "undici";
import type { PodStats } from "../common/pod-stats.ts";

export interface ScrapeTarget {
  /** revisionKey(namespace, name) of the pod's revision. */
  revisionKey: string;
  pod: string;
  adminUrl: string;
}

export type ScrapeResult =
  | { target: ScrapeTarget; stats: PodStats }
  | { target: ScrapeTarget; error: string };

/**
 * Reads every pod's queue-proxy /stats concurrently, each bounded by `timeoutMs`, so one slow or
 * dead pod never stalls the tick: it comes back as an error and the others as stats.
 */
export async function scrapeAll(
  targets: readonly ScrapeTarget[],
  { timeoutMs = 500, dispatcher }: { timeoutMs?: number; dispatcher?: Dispatcher } = {},
): Promise<ScrapeResult[]> {
  return Promise.all(
    targets.map(async (target): Promise<ScrapeResult> => {
      try {
        const res = await request(`${target.adminUrl}/stats`, {
          dispatcher,
          signal: AbortSignal.timeout(timeoutMs),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        if (res.statusCode !== 200) {
          await res.body.dump();
          return { target, error: `status ${res.statusCode}` };
        }
        return { target, stats: (await res.body.json()) as PodStats };
      } catch (error) {
        return { target, error: (error as Error).message };
      }
    }),
  );
}
