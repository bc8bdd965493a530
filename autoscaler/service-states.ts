import { parseDuration } from "../common/duration.ts";
import { revisionKey, type ServiceState } from "../common/state.ts";
import { applyRollout, resolveRoute, rolloutPercent } from "../serving/routes.ts";
import { ROLLOUT_ANNOTATION } from "../serving/validate.ts";
import { namespaceOf, type ServiceEntry } from "./service-entry.ts";

/**
 * The published routes of the active services (by serviceKey): hosts, tags, and the traffic split
 * with latestRevision resolved and a gradual rollout (serving.knative.dev/rollout-duration) at
 * its step for `now`. Pure.
 */
export function serviceStates(
  services: ReadonlyMap<string, ServiceEntry>,
  domain: string,
  now: number,
): Record<string, ServiceState> {
  const states: Record<string, ServiceState> = {};
  for (const [key, entry] of services) {
    const latest = entry.revisions.at(-1);
    if (!latest || !entry.active) continue;
    const readyRevisions = entry.revisions.filter((r) => r.readyAt !== undefined);
    const latestReady = readyRevisions.at(-1);
    const route = resolveRoute(
      entry.manifest,
      { created: latest.revision.name, ready: latestReady?.revision.name },
      domain,
    );
    let traffic = route.traffic;
    const rolloutMs = parseDuration(entry.manifest.metadata.annotations?.[ROLLOUT_ANNOTATION] ?? "") ?? 0;
    const previousReady = readyRevisions.at(-2);
    if (rolloutMs > 0 && latestReady?.readyAt !== undefined && previousReady) {
      const percent = rolloutPercent(latestReady.readyAt, rolloutMs, now);
      traffic = applyRollout(traffic, latestReady.revision.name, previousReady.revision.name, percent);
    }
    states[key] = {
      name: entry.manifest.metadata.name,
      namespace: namespaceOf(entry.manifest),
      hosts: route.hosts,
      traffic,
      tags: route.tags,
      latestCreatedRevision: latest.revision.name,
      latestReadyRevision: latestReady?.revision.name,
    };
  }
  return states;
}

/**
 * Keys of the revisions some route sends traffic to (0 % tagged targets included: they stay
 * routable), plus each active service's latest created revision: where latestRevision traffic goes
 * next. Pure.
 */
export function referencedRevisions(
  states: Record<string, ServiceState>,
  services: Iterable<ServiceEntry>,
): Set<string> {
  const referenced = new Set<string>();
  for (const state of Object.values(states)) {
    for (const target of state.traffic) referenced.add(revisionKey(state.namespace, target.revision));
  }
  for (const entry of services) {
    const latest = entry.revisions.at(-1);
    if (latest && entry.active) referenced.add(latest.key);
  }
  return referenced;
}
