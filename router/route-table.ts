import { type DataPlaneState, type RevisionState, revisionKey, type ServiceState } from "../common/state.ts";
import type { RevisionTarget } from "./revision-target.ts";
import { WeightedPicker } from "./weighted-picker.ts";

/** A service's main route: the weighted split, and its tags for the Sluice-Tag header. */
export class ServiceRoute {
  readonly state: ServiceState;
  readonly split: WeightedPicker<RevisionTarget>;
  readonly tags: Map<string, RevisionTarget>;
  /** Every target this route can send to (to notice when one is replaced). */
  readonly targets: RevisionTarget[];

  /** `targetFor` takes a revisionKey; the state names revisions in the service's own namespace. */
  constructor(state: ServiceState, targetFor: (key: string) => RevisionTarget) {
    this.state = state;
    const target = (revision: string) => targetFor(revisionKey(state.namespace, revision));
    this.split = new WeightedPicker(
      state.traffic.map((entry) => ({ choice: target(entry.revision), weight: entry.percent })),
    );
    this.tags = new Map(Object.entries(state.tags).map(([tag, { revision }]) => [tag, target(revision)]));
    this.targets = [...state.traffic.map((entry) => target(entry.revision)), ...this.tags.values()];
  }
}

/** What a host leads to: a service's split, or (a tag host) one fixed revision. */
export interface Route {
  service: ServiceRoute;
  tagged: RevisionTarget | undefined;
}

/** One consistent table: requests read `hosts` once and never see a half-applied update. */
export interface RouteTable {
  readonly generation: number;
  readonly hosts: ReadonlyMap<string, Route>;
  readonly services: ReadonlyMap<string, ServiceRoute>;
}

export const EMPTY_TABLE: RouteTable = { generation: 0, hosts: new Map(), services: new Map() };

export interface TargetRegistry {
  /** The live target for a revision (by revisionKey), created on first use. */
  targetFor(key: string, state?: RevisionState): RevisionTarget;
  /** Marks targets whose revisions left the state as removed and forgets them. */
  sweep(live: Record<string, RevisionState>): void;
}

/**
 * Builds the next table from a state. Services whose state object is unchanged (the watch keeps
 * identity for what an event did not touch) and whose targets are all live keep their route, so
 * an update costs its changes plus one copy of the host map, and split positions survive.
 */
export function buildRouteTable(
  previous: RouteTable,
  state: DataPlaneState,
  registry: TargetRegistry,
): RouteTable {
  for (const key in state.revisions) registry.targetFor(key, state.revisions[key]);
  registry.sweep(state.revisions);
  const services = new Map<string, ServiceRoute>();
  const hosts = new Map(previous.hosts);
  const unhost = (route: ServiceRoute) => {
    for (const host of route.state.hosts) if (hosts.get(host)?.service === route) hosts.delete(host);
    for (const tag of Object.values(route.state.tags))
      for (const host of tag.hosts) if (hosts.get(host)?.service === route) hosts.delete(host);
  };
  for (const [key, old] of previous.services) if (state.services[key] === undefined) unhost(old);
  for (const key in state.services) {
    const serviceState = state.services[key];
    const old = previous.services.get(key);
    if (old && old.state === serviceState && !old.targets.some((target) => target.removed)) {
      services.set(key, old);
      continue;
    }
    if (old) unhost(old);
    const route = new ServiceRoute(serviceState, (key) => registry.targetFor(key));
    services.set(key, route);
    for (const host of serviceState.hosts) hosts.set(host, { service: route, tagged: undefined });
    for (const [tag, { hosts: tagHosts }] of Object.entries(serviceState.tags)) {
      const tagged = route.tags.get(tag);
      for (const host of tagHosts) hosts.set(host, { service: route, tagged });
    }
  }
  return { generation: state.generation, hosts, services };
}
