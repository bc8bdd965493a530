import type { Platform } from "../platform/platform.ts";
import type { RevisionStore } from "../serving/revision-store.ts";
import type { Controller } from "./controller.ts";

/**
 * Where the autoscaler's services and pods live: local processes with a store in the state
 * directory, or a Kubernetes cluster. main.ts builds the controller on `platform` and `store`,
 * then hands it to `start`.
 */
export interface Backend {
  platform: Platform;
  /** Local mode's history; Kubernetes mode has none (the cluster holds the services). */
  store?: RevisionStore;
  /** Restores (local) or starts watching and electing a leader (Kubernetes). */
  start(controller: Controller): Promise<void>;
  /** Whether this replica acts: scales, answers ready. Always, locally; the leader's only, in a cluster. */
  acting(): boolean;
  close(): Promise<void>;
}
