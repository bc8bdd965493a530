import type { Logger } from "../../common/log.ts";
import type { SourceRuntime } from "../resources/compile-sources.ts";
import type { SourceManifest } from "../resources/source-manifest.ts";
import type { EventingRuntime } from "../runtime.ts";
import type { SourceRunners } from "../sources/runner.ts";
import type { ClusterResources } from "./resource-set.ts";

// How this process serves what the cluster holds: Brokers and Triggers through the same
// EventingRuntime.apply as files and `sluice apply`, sources through the same SourceRunners (each
// restarted only when it changed). What this mode does not run is left out, and says why in its
// status. A SinkBinding is served by the autoscaler, the cluster's controller: it watches them and
// puts K_SINK into the bound Services' revision Deployments; here it only gets its status (sinkUri).
// A source that cannot start does not hold the rest back: its status says it, and the
// next sync tries it again.

/** Kinds accepted from the cluster but not run there yet, and why (status: Ready=False, NotSupported). */
export const NOT_RUN_ON_KUBERNETES: ReadonlyMap<string, string> = new Map([
  [
    "GitHubSource",
    "GitHubSource is not run on Kubernetes yet: its secretToken would come from a Kubernetes Secret, which sluice's eventing does not read",
  ],
]);

const RUN_KINDS = new Set(["KafkaSource", "PingSource", "NatsSource"]);

export interface ClusterApplyOptions {
  runtime: Pick<EventingRuntime, "apply">;
  sources: Pick<SourceRunners, "apply" | "sources">;
  /** Manifests → runtime sources, Broker sinks at this process's ingress. */
  compileSources: (manifests: SourceManifest[]) => SourceRuntime[];
  log: Logger;
}

export interface ClusterApply {
  /** Serves the valid resources; false when a source could not start (try again later). */
  apply(resources: ClusterResources): Promise<boolean>;
  /** Why a source the cluster holds, valid, is not running; undefined when it runs (or is not a source). */
  notRunning(id: string): string | undefined;
}

export function clusterApply(options: ClusterApplyOptions): ClusterApply {
  let sourceError: string | undefined;
  return {
    async apply(resources) {
      // Streams and consumers first, then the ingress and workers (runtime.ts); a failure here
      // (NATS away) fails the sync, which is tried again.
      await options.runtime.apply(resources.set);
      const runnable = resources.sources.filter((s) => !NOT_RUN_ON_KUBERNETES.has(s.kind));
      try {
        const change = await options.sources.apply(options.compileSources(runnable));
        sourceError = undefined;
        options.log.info(change, "sources applied");
        return true;
      } catch (error) {
        sourceError = (error as Error).message;
        options.log.warn({ err: sourceError }, "sources could not all start; trying again later");
        return false;
      }
    },
    notRunning(id) {
      const kind = id.split(" ", 1)[0];
      if (!RUN_KINDS.has(kind)) return undefined;
      if (options.sources.sources.some((s) => `${s.kind} ${s.namespace}/${s.name}` === id)) return undefined;
      return `not started${sourceError ? `: ${sourceError}` : ""}`;
    },
  };
}
