import type { TrafficTarget } from "../common/state.ts";
import type { ServiceManifest } from "./manifest.ts";

export interface ResolvedRoute {
  /** Hosts of the main split: {service}.{namespace}.{domain}, plus the local short forms. */
  hosts: string[];
  traffic: TrafficTarget[];
  tags: Record<string, { hosts: string[]; revision: string }>;
}

/**
 * The hosts a service (or, with `{tag}-{service}` as `service`, a tag) answers on. The bare
 * `{service}` is the default namespace's only: the same name in two namespaces is normal in
 * Kubernetes and must not make two services claim one host (validation rejects the collisions
 * left, see host-collisions.ts).
 */
export function serviceHosts(service: string, namespace: string, domain: string): string[] {
  const hosts = [`${service}.${namespace}.${domain}`, `${service}.${namespace}`];
  return namespace === "default" ? [...hosts, service] : hosts;
}

/**
 * Resolves spec.traffic into concrete revisions. `latestRevision: true` (and the default when
 * traffic is absent) means the latest ready revision, or the latest created one while none is
 * ready yet (its requests wait in the activator). Entries for the same revision are merged.
 */
export function resolveRoute(
  manifest: ServiceManifest,
  latest: { created: string; ready?: string },
  domain: string,
): ResolvedRoute {
  const service = manifest.metadata.name;
  const namespace = manifest.metadata.namespace ?? "default";
  const latestTarget = latest.ready ?? latest.created;
  const entries = manifest.spec.traffic ?? [{ latestRevision: true, percent: 100 }];
  const traffic: TrafficTarget[] = [];
  const tags: ResolvedRoute["tags"] = {};
  for (const entry of entries) {
    const revision = entry.revisionName ?? latestTarget;
    const percent = entry.percent ?? 0;
    if (entry.tag)
      tags[entry.tag] = { hosts: serviceHosts(`${entry.tag}-${service}`, namespace, domain), revision };
    const same = traffic.find((target) => target.revision === revision && target.tag === entry.tag);
    if (same) same.percent += percent;
    else traffic.push({ revision, percent, ...(entry.tag ? { tag: entry.tag } : {}) });
  }
  return { hosts: serviceHosts(service, namespace, domain), traffic, tags };
}

/**
 * Gradual rollout (serving.knative.dev/rollout-duration): when a new latest revision becomes
 * ready, the share that follows latestRevision moves to it in steps over the duration, starting at
 * 1 % (Knative's behaviour). Returns the new revision's percentage of that share at `now`.
 */
export function rolloutPercent(readyAt: number, durationMs: number, now: number): number {
  if (durationMs <= 0 || now >= readyAt + durationMs) return 100;
  const elapsed = Math.max(0, now - readyAt);
  return Math.max(1, Math.min(99, Math.floor((100 * elapsed) / durationMs)));
}

/** Splits the latestRevision share between the previous and the new revision during a rollout. */
export function applyRollout(
  traffic: TrafficTarget[],
  newRevision: string,
  previousRevision: string,
  newPercentOfShare: number,
): TrafficTarget[] {
  const out: TrafficTarget[] = [];
  for (const target of traffic) {
    if (target.revision !== newRevision || target.tag !== undefined || newPercentOfShare >= 100) {
      out.push(target);
      continue;
    }
    const moved = Math.max(1, Math.round((target.percent * newPercentOfShare) / 100));
    out.push({ revision: newRevision, percent: moved });
    if (target.percent - moved > 0) out.push({ revision: previousRevision, percent: target.percent - moved });
  }
  return out;
}
