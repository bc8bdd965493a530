import type { ServiceManifest } from "../serving/manifest.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

/** A service as the controller keeps it, by serviceKey(namespace, name). */
export interface ServiceEntry {
  manifest: ServiceManifest;
  /** Oldest first. */
  revisions: RevisionRuntime[];
  /**
   * Runs (routes, pods). An inactive service was applied in an earlier run and not since: only its
   * history is kept (its revision numbering continues), until it is applied again.
   */
  active: boolean;
}

export function namespaceOf(manifest: ServiceManifest): string {
  return manifest.metadata.namespace ?? "default";
}
