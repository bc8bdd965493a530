import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../common/log.ts";
import type { ResolveOptions } from "../resources/compile.ts";
import type { SourceRuntime } from "../resources/compile-sources.ts";
import type { GitHubEndpoint } from "./github.ts";
import { KafkaSourceRunner } from "./kafka.ts";
import { NatsSourceRunner } from "./nats.ts";
import { PingSourceRunner } from "./ping.ts";
import { readSecret } from "./secrets.ts";
import type { SinkOptions } from "./sink.ts";
import type { SourceMetrics } from "./source-metrics.ts";

// Every source of the set, started and stopped together: a runner per KafkaSource, PingSource
// and NatsSource, and the GitHubSources' endpoints (served by main.ts on the webhook port).
// Like the Trigger dispatcher, a new set means stop all, start all (sources/ keep no state of
// their own: Kafka's is its committed offsets).

export interface SourcesOptions {
  sink: SinkOptions;
  log: Logger;
  /** The eventing process's NATS connection, for NatsSources without servers of their own. */
  nats: NatsConnection;
  maxInFlight: number;
  resolve: ResolveOptions;
  /** Where secrets come from (secrets.ts). */
  env: Readonly<Record<string, string | undefined>>;
  secretsDir: string | undefined;
}

interface Runner {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/** The GitHubSources' endpoints with their secrets, or the secrets that are missing. */
export function gitHubEndpoints(
  sources: readonly SourceRuntime[],
  options: Pick<SourcesOptions, "env" | "secretsDir">,
): { endpoints: Map<string, GitHubEndpoint> } | { problems: string[] } {
  const endpoints = new Map<string, GitHubEndpoint>();
  const problems: string[] = [];
  for (const source of sources) {
    if (source.kind !== "GitHubSource") continue;
    const secret = readSecret(source.secretToken, options.env, options.secretsDir);
    if ("problem" in secret)
      problems.push(`GitHubSource ${source.namespace}/${source.name}: secretToken: ${secret.problem}`);
    else endpoints.set(`${source.namespace}/${source.name}`, { source, secret: secret.value });
  }
  return problems.length > 0 ? { problems } : { endpoints };
}

export class SourceRunners {
  readonly #runners: Runner[] = [];

  constructor(sources: readonly SourceRuntime[], options: SourcesOptions) {
    for (const source of sources) {
      if (source.kind === "KafkaSource")
        this.#runners.push(
          new KafkaSourceRunner(source, {
            sink: options.sink,
            log: options.log,
            maxHeld: options.maxInFlight,
          }),
        );
      else if (source.kind === "PingSource") this.#runners.push(new PingSourceRunner(source, options));
      else if (source.kind === "NatsSource")
        this.#runners.push(
          new NatsSourceRunner(source, {
            sink: options.sink,
            log: options.log,
            shared: options.nats,
            maxInFlight: options.maxInFlight,
            resolve: options.resolve,
          }),
        );
    }
  }

  async start(): Promise<void> {
    for (const runner of this.#runners) await runner.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#runners.map((runner) => runner.stop()));
  }
}

/** For GET /v1/eventing: each source, its sink and its counts. */
export function sourcesStatus(sources: readonly SourceRuntime[], metrics: SourceMetrics) {
  return sources.map((s) => ({
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    sink: s.sink.describe,
    counts: {
      delivered: metrics.count(s.kind, s.namespace, s.name, "delivered"),
      retried: metrics.count(s.kind, s.namespace, s.name, "retried"),
      deadLettered: metrics.count(s.kind, s.namespace, s.name, "dead_lettered"),
      dropped: metrics.count(s.kind, s.namespace, s.name, "dropped"),
      rejected: metrics.count(s.kind, s.namespace, s.name, "rejected"),
    },
  }));
}
