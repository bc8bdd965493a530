import { type DataPlaneState, type RevisionState, revisionKey, type ServiceState } from "../common/state.ts";
import type {
  CapacityStatus,
  ComponentStatus,
  EventingSnapshot,
  Observed,
  RevisionStatus,
  ServiceStatus,
  StatusSnapshot,
} from "../common/status.ts";
import type { RevisionDetail } from "./revision-details.ts";

/** What a status snapshot adds to the state and the controller's view, each only where there is one. */
export interface StatusExtras {
  /** The snapshot's time (default: now). */
  now?: number;
  /** Services kept from an earlier run, not in the state. */
  inactive?: readonly { namespace: string; name: string }[];
  /** The processes `sluice up` last reported. */
  components?: ComponentStatus[];
  /** Brokers, Triggers and sources, when the autoscaler reads them (SLUICE_EVENTING_ADMIN_URL). */
  eventing?: EventingSnapshot;
  /** The platform's room for pods, where it has a limit (local). */
  capacity?: CapacityStatus;
}

/**
 * GET /v1/status: joins the published state (hosts, traffic, pods, mode, failures) with the
 * controller's view of each revision's load (`details` by revisionKey), lists the inactive
 * services, and adds the extras there are. Pure: the caller passes them in.
 */
export function buildStatus(
  state: DataPlaneState,
  details: Record<string, RevisionDetail>,
  { now = Date.now(), inactive = [], components, eventing, capacity }: StatusExtras = {},
): StatusSnapshot {
  const byService = new Map<string, RevisionState[]>();
  for (const revision of Object.values(state.revisions)) {
    const key = `${revision.namespace}/${revision.service}`;
    byService.set(key, [...(byService.get(key) ?? []), revision]);
  }
  const dormant: [string, ServiceStatus][] = inactive.map(({ namespace, name }) => [
    `${namespace}/${name}`,
    { name, namespace, active: false, hosts: [], traffic: [], revisions: [] },
  ]);
  const services = [
    ...Object.entries(state.services).map(([key, service]): [string, ServiceStatus] => [
      key,
      serviceStatus(service, byService.get(key) ?? [], details),
    ]),
    ...dormant,
  ]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, service]) => service);
  return {
    time: now,
    generation: state.generation,
    domain: state.domain,
    services,
    ...(components ? { components } : {}),
    ...(eventing ? { eventing } : {}),
    ...(capacity ? { capacity } : {}),
  };
}

function serviceStatus(
  service: ServiceState,
  revisions: RevisionState[],
  details: Record<string, RevisionDetail>,
): ServiceStatus {
  return {
    name: service.name,
    namespace: service.namespace,
    active: true,
    hosts: service.hosts,
    traffic: service.traffic.map((target) => {
      const tagHosts = target.tag ? service.tags[target.tag]?.hosts : undefined;
      return { ...target, ...(tagHosts ? { tagHosts } : {}) };
    }),
    ...(service.latestCreatedRevision ? { latestCreatedRevision: service.latestCreatedRevision } : {}),
    ...(service.latestReadyRevision ? { latestReadyRevision: service.latestReadyRevision } : {}),
    // The state lists revisions in creation order.
    revisions: revisions
      .map((revision) => revisionStatus(revision, details[revisionKey(revision.namespace, revision.name)]))
      .reverse(),
  };
}

function revisionStatus(revision: RevisionState, detail: RevisionDetail | undefined): RevisionStatus {
  const metric = detail?.metric ?? "concurrency";
  const observed = (what: "concurrency" | "rps", current: number): Observed =>
    metric === what && detail
      ? { current, stable: detail.observedStable, panic: detail.observedPanic }
      : { current };
  return {
    name: revision.name,
    desiredPods: revision.desiredPods,
    readyPods: detail?.readyPods ?? revision.endpoints.length,
    pods: detail?.pods ?? revision.endpoints.length,
    pendingPods: detail?.pendingPods ?? 0,
    mode: revision.mode,
    containerConcurrency: revision.containerConcurrency,
    autoscaling: { metric, target: detail?.target ?? 0, panicking: detail?.panicking ?? false },
    concurrency: observed("concurrency", detail?.concurrency ?? 0),
    rps: observed("rps", detail?.rps ?? 0),
    ...(revision.failure ? { failure: revision.failure } : {}),
  };
}
