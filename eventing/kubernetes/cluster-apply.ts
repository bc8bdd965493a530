import type { Logger } from "../../common/log.ts";
import type { SourceRuntime } from "../resources/compile-sources.ts";
import type { SourceManifest } from "../resources/source-manifest.ts";
import type { EventingRuntime } from "../runtime.ts";
import type { SourceRunners } from "../sources/runner.ts";
import type { ReadSecrets } from "./cluster-secrets.ts";
import { resourceId } from "./kinds.ts";
import type { ClusterResources } from "./resource-set.ts";

// How this process serves what the cluster holds: Brokers and Triggers through the same
// EventingRuntime.apply as files and `sluice apply`, sources through the same SourceRunners (each
// restarted only when it changed). PingSources, KafkaSources and NatsSources run on the replica
// that leads (source-leader.ts: on two they would send every event twice); GitHubSources'
// webhooks are served on every replica (the Service spreads deliveries over them), each with its
// secret read from the source's namespace (cluster-secrets.ts). A SinkBinding is served by the
// autoscaler, the cluster's controller: it watches them and puts K_SINK into the bound Services'
// revision Deployments; here it only gets its status (sinkUri). A source that cannot start does
// not hold the rest back: its status says it, and the next sync tries it again.

/**
 * Kinds accepted from the cluster but not run there, and why (status: Ready=False, NotSupported).
 * None today; kept so a kind added to the CRDs before it runs here says so.
 */
export const NOT_RUN_ON_KUBERNETES: ReadonlyMap<string, string> = new Map();

/** Run by the leader only. */
const LEADER_KINDS = new Set(["KafkaSource", "PingSource", "NatsSource"]);
const WEBHOOK_KIND = "GitHubSource";

export interface ClusterApplyOptions {
  runtime: Pick<EventingRuntime, "apply">;
  sources: Pick<SourceRunners, "apply" | "sources"> &
    Partial<Pick<SourceRunners, "health" | "onHealthChange" | "followLeader">>;
  /** Manifests → runtime sources, Broker sinks at this process's ingress. */
  compileSources: (manifests: SourceManifest[]) => SourceRuntime[];
  log: Logger;
}

export interface ServedBy {
  /** Whether this replica runs the leader's sources now (default: always). */
  leading?: () => boolean;
  /** GitHubSources' secrets (default: none read, so every GitHubSource is NotRunning). */
  readSecrets?: ReadSecrets;
}

export interface ClusterApply {
  /** Serves the valid resources; false when a source could not start (try again later). */
  apply(resources: ClusterResources): Promise<boolean>;
  /** Why a source the cluster holds, valid, is not running; undefined when it runs (or is not a source). */
  notRunning(id: string): string | undefined;
  /** Why a source that runs here fails (a KafkaSource's missing topic): since when and the reason. */
  failing(id: string): string | undefined;
}

const idOf = (source: SourceManifest) =>
  resourceId(source.kind, source.metadata.namespace ?? "default", source.metadata.name);

export function clusterApply(options: ClusterApplyOptions & ServedBy): ClusterApply {
  const leading = options.leading ?? (() => true);
  let sourceError: string | undefined;
  let secretProblems = new Map<string, string>();
  return {
    async apply(resources) {
      // Streams and consumers first, then the ingress and workers (runtime.ts); a failure here
      // (NATS away) fails the sync, which is tried again.
      await options.runtime.apply(resources.set);
      const lead = leading();
      const wanted = resources.sources.filter(
        (s) =>
          !NOT_RUN_ON_KUBERNETES.has(s.kind) &&
          (s.kind === WEBHOOK_KIND || (lead && LEADER_KINDS.has(s.kind))),
      );
      const webhooks = wanted.filter((s) => s.kind === WEBHOOK_KIND);
      const secrets =
        webhooks.length === 0
          ? { values: new Map<string, string>(), problems: new Map<string, string>() }
          : options.readSecrets
            ? await options.readSecrets(webhooks)
            : {
                values: new Map<string, string>(),
                problems: new Map(webhooks.map((s) => [idOf(s), "secretToken: no Secret reader"])),
              };
      secretProblems = secrets.problems;
      const runnable = wanted.filter((s) => !secretProblems.has(idOf(s)));
      try {
        const change = await options.sources.apply(options.compileSources(runnable), secrets.values);
        sourceError = undefined;
        options.log.info({ ...change, leading: lead }, "sources applied");
      } catch (error) {
        sourceError = (error as Error).message;
        options.log.warn({ err: sourceError }, "sources could not all start; trying again later");
        return false;
      }
      if (secretProblems.size > 0) {
        options.log.warn(
          { problems: Object.fromEntries(secretProblems) },
          "GitHubSources without their secret are not served; trying again later",
        );
        return false;
      }
      return true;
    },
    notRunning(id) {
      const kind = id.split(" ", 1)[0];
      if (!LEADER_KINDS.has(kind) && kind !== WEBHOOK_KIND) return undefined;
      const secretProblem = secretProblems.get(id);
      if (secretProblem) return secretProblem;
      if (options.sources.sources.some((s) => `${s.kind} ${s.namespace}/${s.name}` === id)) return undefined;
      return `not started${sourceError ? `: ${sourceError}` : ""}`;
    },
    failing(id) {
      const source = options.sources.sources.find((s) => `${s.kind} ${s.namespace}/${s.name}` === id);
      const health = source && options.sources.health?.(source);
      return health?.state === "failing" ? `failing since ${health.since}: ${health.reason}` : undefined;
    },
  };
}
