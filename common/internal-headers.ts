// The request headers the data plane sets between its own hops. Clients are untrusted: the router
// removes every one of these from what a client sends (requests and upgrades alike), and a hop
// believes one only together with the hop secret (see hop-auth.ts).

/**
 * Router → activator: the revision the router chose, as revisionKey(namespace, name) ("staging/hello-00001").
 * On responses to clients the router sets it to the plain revision name.
 */
export const REVISION_HEADER = "sluice-revision";
/** Activator → queue-proxy: the request came through the activator (the pod reports it apart). */
export const PROXY_HEADER = "k-proxy-request";
/** Activator → queue-proxy: "are you ready?" (Knative's K-Network-Probe), answered by the queue-proxy. */
export const PROBE_HEADER = "k-network-probe";
/** Any hop → the next: the installation's hop secret, which makes the headers above believable. */
export const HOP_AUTH_HEADER = "sluice-hop-auth";

const INTERNAL = new Set([REVISION_HEADER, PROXY_HEADER, PROBE_HEADER, HOP_AUTH_HEADER]);

/** Every internal header, lower case (for docs and tests). */
export const INTERNAL_HEADERS: readonly string[] = [...INTERNAL];

export function isInternalHeader(lowerName: string): boolean {
  return INTERNAL.has(lowerName);
}
