import { type Dispatcher, request } from "undici";
import type { PodStats } from "../common/pod-stats.ts";
import type { RevisionPods } from "../platform/platform.ts";

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

/** Every ready pod of the given revisions that has an admin URL: what a tick scrapes. */
export function scrapeTargets(
  keys: Iterable<string>,
  pods: (key: string) => RevisionPods | undefined,
): ScrapeTarget[] {
  return [...keys].flatMap((key) =>
    (pods(key)?.pods ?? [])
      .filter((pod) => pod.phase === "ready" && pod.adminUrl)
      .map((pod) => ({ revisionKey: key, pod: pod.name, adminUrl: pod.adminUrl as string })),
  );
}

/** The stats that came back, by revision key; failed scrapes are left out. */
export function statsByRevision(results: readonly ScrapeResult[]): Map<string, PodStats[]> {
  const byRevision = new Map<string, PodStats[]>();
  for (const result of results) {
    if (!("stats" in result)) continue;
    const list = byRevision.get(result.target.revisionKey);
    if (list) list.push(result.stats);
    else byRevision.set(result.target.revisionKey, [result.stats]);
  }
  return byRevision;
}
