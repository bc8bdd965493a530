/**
 * The platform runs pods for revisions. Two backends share this interface: `local` (processes
 * on loopback) and, later, `kubernetes` (a Deployment per revision).
 */

import type { CapacityStatus } from "../common/status.ts";

/** Everything needed to run one pod of a revision, derived from the revision's template. */
export interface PodTemplate {
  service: string;
  namespace: string;
  configuration: string;
  revision: string;
  containerConcurrency: number;
  timeoutSeconds: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  /** The container: local mode needs a command (image-only containers cannot run here). */
  command: string[];
  args: string[];
  env: Record<string, string>;
  workingDir?: string;
  /** h2c for gRPC apps (a container port named h2c). */
  protocol: "http1" | "h2c";
  /** Knative's readinessProbe JSON, handed to the queue-proxy as SERVING_READINESS_PROBE. */
  readinessProbe?: unknown;
}

/**
 * pending: the pod waits for room on the machine (the local platform's capacity) and runs no
 * process yet — as a Kubernetes pod waits for a node; it has a name, no URL and no pids.
 */
export type PodPhase = "pending" | "starting" | "ready" | "not-ready" | "terminating" | "crashed";

export interface PodStatus {
  name: string;
  phase: PodPhase;
  /** The queue-proxy's serving URL: where the router and activator send requests. */
  url?: string;
  /** A Unix socket the queue-proxy serves on as well (local pods): Endpoint.socket. */
  socket?: string;
  /** The queue-proxy's admin URL: /stats, /readyz. */
  adminUrl?: string;
  restarts: number;
  /** When the pod started; for a pending pod, when it began to wait. */
  startedAt: number;
  /** Process ids, for debugging (local platform only). */
  pids?: { app?: number; queueProxy?: number };
}

export interface RevisionFailure {
  reason: string;
  /** The app's last output lines, to show the user why. */
  logs: string[];
}

export interface RevisionPods {
  /** revisionKey(namespace, name). */
  key: string;
  desired: number;
  pods: PodStatus[];
  /** Set when the revision cannot run: its app exits at once or never becomes ready. */
  failure?: RevisionFailure;
}

/** One line a pod's app wrote (stdout or stderr), for `sluice logs`. */
export interface LogLine {
  /** Increases with every line the platform records: orders lines across pods. */
  seq: number;
  /** Milliseconds since the epoch, when the platform read the line. */
  time: number;
  namespace: string;
  service: string;
  revision: string;
  pod: string;
  stream: "stdout" | "stderr";
  text: string;
}

/** Which pods' output: a service's (optionally one revision's), or one revision's, or everyone's. */
export interface LogFilter {
  namespace?: string;
  service?: string;
  revision?: string;
}

/**
 * Revisions are known by revisionKey(template.namespace, template.revision): names are unique
 * within a namespace only, so pods (and their names) of two namespaces never mix.
 */
export interface Platform {
  /** Makes the revision known (idempotent); it starts with 0 pods. */
  ensureRevision(template: PodTemplate): void;
  /**
   * Takes over the pods a previous instance left running (an autoscaler restarted after a crash)
   * for the revisions made known so far, counting them in their desired scale, and stops the rest.
   * Called once, after ensureRevision for every known revision and before the first scale.
   * Optional: a backend whose pods do not depend on the autoscaler's process has nothing to adopt.
   */
  adopt?(): Promise<unknown>;
  /** Sets the number of pods the revision should have. */
  scale(key: string, replicas: number): void;
  /** Scales to zero, waits for the pods to drain and exit, and forgets the revision. */
  deleteRevision(key: string): Promise<void>;
  /** The current pods of a revision, or undefined if unknown. */
  revision(key: string): RevisionPods | undefined;
  /** Called whenever a pod of the revision `key` changes phase (ready endpoints change). */
  onChange(listener: (key: string) => void): void;
  /**
   * The recent output of the matching revisions' pods, oldest first; bounded per pod, and kept a
   * while after a pod exits. Optional: a backend without it has no `sluice logs`.
   */
  recentLogs?(filter: LogFilter): LogLine[];
  /** Calls `listener` with every new output line of any pod; returns the function that stops it. */
  onLog?(listener: (line: LogLine) => void): () => void;
  /** How much room for pods there is and how much is used, where the platform has a limit (local). */
  capacity?(): CapacityStatus | undefined;
  /** Stops every pod (draining) and resolves when all processes have exited. */
  close(): Promise<void>;
}
