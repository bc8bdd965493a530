import type { V1Endpoint, V1EndpointSlice } from "@kubernetes/client-node";
import type { Endpoint } from "../../common/state.ts";
import type { PodStatus } from "../platform.ts";
import { QUEUE_PORT, QUEUE_PORT_NAME } from "./names.ts";

/** One pod of a revision as its EndpointSlices list it. */
export interface SlicePod {
  pod: string;
  address: string;
  ready: boolean;
  terminating: boolean;
  /** The queue-proxy's serving URL, http://ip:8012. */
  url: string;
  /** The queue-proxy's admin URL (/stats, /readyz), http://ip:8022. */
  adminUrl: string;
}

function hostOf(address: string, type: string): string {
  return type === "IPv6" ? `[${address}]` : address;
}

function portOf(slice: V1EndpointSlice, name: string, fallback: number): number {
  return slice.ports?.find((port) => port.name === name)?.port ?? fallback;
}

/**
 * Every pod the revision's EndpointSlices list (slices of its `{revision}-private` Service), once
 * each and by name. An endpoint is ready when its ready condition is (unset counts as ready, as
 * the API says) and it is not terminating; FQDN slices and endpoints without an address are
 * skipped. Ports come from the slice by name, 8012/8022 when it names none.
 */
export function slicePods(slices: readonly V1EndpointSlice[]): SlicePod[] {
  const byPod = new Map<string, SlicePod>();
  for (const slice of slices) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    const serving = portOf(slice, QUEUE_PORT_NAME.serving, QUEUE_PORT.serving);
    const admin = portOf(slice, QUEUE_PORT_NAME.admin, QUEUE_PORT.admin);
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses[0];
      if (!address) continue;
      const pod = podName(endpoint) ?? address;
      const host = hostOf(address, slice.addressType);
      const terminating = endpoint.conditions?.terminating === true;
      const next: SlicePod = {
        pod,
        address,
        ready: endpoint.conditions?.ready !== false && !terminating,
        terminating,
        url: `http://${host}:${serving}`,
        adminUrl: `http://${host}:${admin}`,
      };
      // The same pod in two slices (while the controller moves it): ready in either is ready.
      const seen = byPod.get(pod);
      if (!seen || (next.ready && !seen.ready)) byPod.set(pod, next);
    }
  }
  return [...byPod.values()].sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

function podName(endpoint: V1Endpoint): string | undefined {
  const ref = endpoint.targetRef;
  return ref && (ref.kind ?? "Pod") === "Pod" ? ref.name : undefined;
}

/** The ready endpoints of a revision, in common/state.ts's form: what router and activator use. */
export function readyEndpoints(slices: readonly V1EndpointSlice[]): Endpoint[] {
  return slicePods(slices)
    .filter((pod) => pod.ready)
    .map(({ pod, url }) => ({ pod, url }));
}

/** The admin URLs to scrape (/stats) for a revision: its ready pods' queue-proxies. */
export function scrapeTargets(slices: readonly V1EndpointSlice[]): { pod: string; adminUrl: string }[] {
  return slicePods(slices)
    .filter((pod) => pod.ready)
    .map(({ pod, adminUrl }) => ({ pod, adminUrl }));
}

/**
 * The platform's view of the pods (platform.ts's PodStatus): ready, terminating or starting
 * (listed, not ready yet). Restarts and start times are the pod informer's to fill in.
 */
export function podStatuses(slices: readonly V1EndpointSlice[]): PodStatus[] {
  return slicePods(slices).map((pod) => ({
    name: pod.pod,
    phase: pod.ready ? "ready" : pod.terminating ? "terminating" : "starting",
    url: pod.url,
    adminUrl: pod.adminUrl,
    restarts: 0,
    startedAt: 0,
  }));
}
