import type { ServiceDraft } from "./draft.ts";

/**
 * One host label a service answers on in its namespace: its name for the main split, or
 * `{tag}-{name}` for a tag. The router's hosts are `{label}.{namespace}.{domain}` and
 * `{label}.{namespace}` (plus the bare `{label}` in the default namespace only, see
 * serviceHosts), so two services claim the same host exactly when they claim the same label in
 * the same namespace.
 */
export interface HostClaim {
  label: string;
  namespace: string;
  service: string;
  tag?: string;
  /** Where the claim is made in the document: metadata.name, or the traffic entry's tag. */
  path: (string | number)[];
}

/** The host labels a service claims; none when its name is unknown (the schema rejected it). */
export function hostClaims(draft: ServiceDraft): HostClaim[] {
  const service = draft.metadata?.name;
  if (service === undefined) return [];
  const namespace = draft.metadata?.namespace ?? "default";
  const claims: HostClaim[] = [{ label: service, namespace, service, path: ["metadata", "name"] }];
  draft.spec?.traffic?.forEach((entry, index) => {
    if (entry?.tag === undefined) return;
    claims.push({
      label: `${entry.tag}-${service}`,
      namespace,
      service,
      tag: entry.tag,
      path: ["spec", "traffic", index, "tag"],
    });
  });
  return claims;
}

/** `tag b of service x/a` or `service x/b-a`. */
export function describeClaim(claim: HostClaim): string {
  const service = `service ${claim.namespace}/${claim.service}`;
  return claim.tag === undefined ? service : `tag ${claim.tag} of ${service}`;
}

export interface Collision<Owner> {
  claim: HostClaim;
  owner: Owner;
  /** The earlier claim of the same host, by another service. */
  other: HostClaim;
  otherOwner: Owner;
}

/**
 * Every claim of `claimants` on a host an earlier claimant (another service) already claims, in
 * order: earlier claimants win nothing, the later one is simply the one reported. A service's own
 * claims never collide with each other here (duplicate tags are the traffic check's).
 */
export function findCollisions<Owner>(
  claimants: readonly { owner: Owner; claims: readonly HostClaim[] }[],
): Collision<Owner>[] {
  const taken = new Map<string, { claim: HostClaim; owner: Owner }>();
  const collisions: Collision<Owner>[] = [];
  for (const { owner, claims } of claimants) {
    for (const claim of claims) {
      const key = `${claim.label}.${claim.namespace}`;
      const first = taken.get(key);
      if (first === undefined) taken.set(key, { claim, owner });
      else if (first.claim.service !== claim.service)
        collisions.push({ claim, owner, other: first.claim, otherOwner: first.owner });
    }
  }
  return collisions;
}
