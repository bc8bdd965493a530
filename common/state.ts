/**
 * The autoscaler's published state: what the router and activator need to route, and nothing
 * else. GET /v1/state returns a DataPlaneState; GET /v1/state?watch=1 streams it as Server-Sent
 * Events (see StateEvent).
 */

export interface DataPlaneState {
  /** Increases with every change; a watcher can tell a stale snapshot from a new one. */
  generation: number;
  /** The domain of generated hosts ({service}.{namespace}.{domain}). */
  domain: string;
  /** By "{namespace}/{service}". */
  services: Record<string, ServiceState>;
  /**
   * By revisionKey(namespace, name): revision names are unique within a namespace only ({service}-{n},
   * as in Knative), so `hello` in two namespaces each has its own hello-00001.
   */
  revisions: Record<string, RevisionState>;
}

export interface TrafficTarget {
  /** A revision name in the service's own namespace (its key: revisionKey(service.namespace, revision)). */
  revision: string;
  /** 0–100; the targets of a service sum to 100. */
  percent: number;
  tag?: string;
}

export interface ServiceState {
  name: string;
  namespace: string;
  /** Hosts that reach the main traffic split, e.g. "hello.default.example.com", "hello". */
  hosts: string[];
  traffic: TrafficTarget[];
  /** Tag → its own host and revision ({tag}-{service}.{namespace}.{domain}). */
  tags: Record<string, { hosts: string[]; revision: string }>;
  latestCreatedRevision?: string;
  latestReadyRevision?: string;
}

export type RevisionMode = "serve" | "proxy";

export interface Endpoint {
  pod: string;
  /** The pod's queue-proxy serving URL. */
  url: string;
  /**
   * A Unix socket the same queue-proxy serves on, when the pod runs on this machine (the local
   * platform): the raw data path connects there instead of to `url`.
   */
  socket?: string;
}

/** The endpoints' sockets by URL, for the hops that pick among them (router, activator). */
export function endpointSockets(endpoints: readonly Endpoint[]): ReadonlyMap<string, string> {
  const sockets = new Map<string, string>();
  for (const { url, socket } of endpoints) if (socket !== undefined) sockets.set(url, socket);
  return sockets;
}

export interface RevisionState {
  name: string;
  service: string;
  namespace: string;
  /** serve: the router goes straight to `endpoints`; proxy: through the activator. */
  mode: RevisionMode;
  containerConcurrency: number;
  timeoutSeconds: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  protocol: "http1" | "h2c";
  desiredPods: number;
  /** Ready pods only. */
  endpoints: Endpoint[];
  /** Set when the revision cannot become ready: the activator answers 503 with this reason. */
  failure?: { reason: string; logs: string[] };
}

/** The Server-Sent Events of the watch: a full snapshot first, then changes. */
export type StateEvent =
  | { type: "snapshot"; state: DataPlaneState }
  | { type: "service"; generation: number; key: string; service: ServiceState | null }
  | { type: "revision"; generation: number; key: string; revision: RevisionState | null };

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A revision's identity wherever revisions are a key: its name is unique within its namespace only. */
export function revisionKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The namespace and name of a revisionKey (namespaces are DNS labels: no "/" in them). */
export function splitRevisionKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * Applies a change event to a state and returns a new state object (the old one is untouched, so
 * readers holding it see a consistent table until they pick up the new one).
 */
export function applyEvent(state: DataPlaneState, event: StateEvent): DataPlaneState {
  if (event.type === "snapshot") return event.state;
  if (event.type === "service") {
    const services = { ...state.services };
    if (event.service) services[event.key] = event.service;
    else delete services[event.key];
    return { ...state, generation: event.generation, services };
  }
  const revisions = { ...state.revisions };
  if (event.revision) revisions[event.key] = event.revision;
  else delete revisions[event.key];
  return { ...state, generation: event.generation, revisions };
}
