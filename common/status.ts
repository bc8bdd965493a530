/**
 * GET /v1/status on the autoscaler: what runs and how loaded it is, for people — the status page
 * and `sluice status`. The data plane routes by /v1/state (common/state.ts), never by this.
 */

import type { RevisionMode } from "./state.ts";

export interface StatusSnapshot {
  /** When the snapshot was taken, in ms since the epoch (the autoscaler's clock). */
  time: number;
  /** The generation of the published state it was built from. */
  generation: number;
  /** The domain of generated hosts. */
  domain: string;
  /** Sorted by namespace, then name. */
  services: ServiceStatus[];
  /**
   * The processes `sluice up` supervises, as it last reported them (PUT /v1/components). Absent
   * when nobody reported: an autoscaler run on its own.
   */
  components?: ComponentStatus[];
  /**
   * Eventing's Brokers, Triggers and sources, as its admin API (GET /v1/eventing) answered the
   * autoscaler for this snapshot. Absent when the autoscaler has no SLUICE_EVENTING_ADMIN_URL.
   */
  eventing?: EventingSnapshot;
  /**
   * The local platform's room for pods (SLUICE_LOCAL_MAX_PODS, SLUICE_LOCAL_MAX_STARTING) and how
   * much of it is used: pods past it wait as pending. Absent in a cluster, where nodes decide.
   */
  capacity?: CapacityStatus;
}

export interface CapacityStatus {
  /** Pods that may exist at once, all services together. */
  maxPods: number;
  /** Pods that may be starting at once. */
  maxStarting: number;
  /** Pods that exist now (starting, ready or stopping): what counts against maxPods. */
  pods: number;
  /** Pods wanted but waiting for room. */
  pending: number;
}

// ---- eventing -------------------------------------------------------------------------------
// Read by the autoscaler from the eventing component (autoscaler/eventing-status.ts); the shape is
// eventing/status.ts's and eventing/sources/runner.ts's sourcesStatus.

export interface EventingSnapshot {
  /** Where the autoscaler reads it (SLUICE_EVENTING_ADMIN_URL). */
  adminUrl: string;
  /** Set when eventing did not answer (unreachable, timed out, refused): why, naming the URL. */
  error?: string;
  brokers: { namespace: string; name: string; address: { url: string } }[];
  /** counts: accepted, delivered, retried, deadLettered, dropped, filtered, replies. */
  triggers: {
    namespace: string;
    name: string;
    broker: string;
    subscriber: string;
    counts: Record<string, number>;
  }[];
  /** counts: delivered, retried, deadLettered, dropped, rejected; url: a GitHubSource's webhook. */
  sources: {
    kind: string;
    namespace: string;
    name: string;
    sink: string;
    url?: string;
    counts: Record<string, number>;
    /** running, starting, or failing with the reason, since when (eventing/sources/source-health.ts). */
    status?: { state: string; reason?: string; since: string };
  }[];
}

export interface ServiceStatus {
  name: string;
  namespace: string;
  /**
   * false: applied in an earlier run and not since (started with AUTOSCALER_RESTORE=none): only
   * its history is kept; no hosts, traffic or revisions until it is applied again.
   */
  active: boolean;
  /** Hosts that reach the main traffic split, fully qualified first. */
  hosts: string[];
  traffic: TrafficStatus[];
  latestCreatedRevision?: string;
  latestReadyRevision?: string;
  /** Every revision the autoscaler keeps for the service, newest first. */
  revisions: RevisionStatus[];
}

export interface TrafficStatus {
  revision: string;
  /** 0–100; the targets of a service sum to 100. */
  percent: number;
  tag?: string;
  /** The tag's own hosts ({tag}-{service}.{namespace}.{domain} first). */
  tagHosts?: string[];
}

/** A revision-wide measure: `current` over the last tick, and the KPA's window averages. */
export interface Observed {
  /** Over the last autoscaler tick (about one second): pods plus activator, each request once. */
  current: number;
  /**
   * The KPA's stable-window and panic-window averages: what it scales on. Present only for the
   * metric the revision scales on (`autoscaling.knative.dev/metric`, concurrency by default).
   */
  stable?: number;
  panic?: number;
}

export interface RevisionStatus {
  name: string;
  /** Pods the autoscaler asks the platform for. */
  desiredPods: number;
  /** Pods ready to serve. */
  readyPods: number;
  /** Pods that exist, ready or not (starting, terminating, crashed included; pending ones not). */
  pods: number;
  /**
   * Pods wanted but waiting for room on the machine, as Kubernetes pods wait for a node: the local
   * platform runs at most its capacity (SLUICE_LOCAL_MAX_PODS, SLUICE_LOCAL_MAX_STARTING) and
   * starts these, fairly across revisions, as pods exit or finish starting. 0 in a cluster.
   */
  pendingPods: number;
  /** serve: the router goes straight to the pods; proxy: through the activator. */
  mode: RevisionMode;
  /** 0 = unlimited. */
  containerConcurrency: number;
  autoscaling: {
    metric: "concurrency" | "rps" | "cpu" | "memory";
    /** Per-pod target of the metric, before target utilization. */
    target: number;
    /** The KPA is scaling on the panic window (a burst). */
    panicking: boolean;
  };
  /** Requests in flight or queued, revision-wide. */
  concurrency: Observed;
  /** Requests per second, from the request counts the pods and the activator report. */
  rps: Observed;
  /** Set when the revision cannot become ready: the reason and the app's last output lines. */
  failure?: { reason: string; logs: string[] };
}

// ---- components -----------------------------------------------------------------------------
// What `sluice up` knows of each process it supervises (cli/up/supervisor.ts). It sends them to
// the autoscaler (PUT /v1/components, checked by autoscaler/component-report.ts) whenever one
// starts, dies, restarts or is given up, so that restarts show on the status page.

/** restarting: dead, waiting out its back-off; failed: died too often, given up; stopped: by Ctrl-C. */
export type ComponentState = "running" | "restarting" | "failed" | "stopped";

export const COMPONENT_STATES: readonly ComponentState[] = ["running", "restarting", "failed", "stopped"];

export interface ComponentExit {
  /** The exit code, or the signal that ended it ("SIGKILL"). */
  code: string;
  /** When it exited (ISO 8601). */
  at: string;
  /** How long that run lasted, in ms. */
  ranForMs: number;
  /** Its last output lines (log messages). */
  lastLines: string[];
}

export interface ComponentStatus {
  name: "autoscaler" | "activator" | "router" | (string & {});
  state: ComponentState;
  /** The running process; absent while none runs. */
  pid?: number;
  /** The ports it listens on (the same on every restart). */
  ports: Record<string, number>;
  /** Restarts since `sluice up` started it. */
  restarts: number;
  /** When the current (or last) run started (ISO 8601). */
  startedAt: string;
  /** Absent until it first exits. */
  lastExit?: ComponentExit;
}
