import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../common/log.ts";
import type { ResolveOptions } from "../resources/compile.ts";
import type { SourceRuntime } from "../resources/compile-sources.ts";
import type { GitHubEndpoint } from "./github.ts";
import { KafkaSourceRunner } from "./kafka.ts";
import { NatsSourceRunner } from "./nats.ts";
import { PingSourceRunner } from "./ping.ts";
import { type ClusterSecrets, readSecret, secretId } from "./secrets.ts";
import type { SinkOptions } from "./sink.ts";
import type { SourceState } from "./source-health.ts";
import type { SourceMetrics } from "./source-metrics.ts";

// Every source of the set: a runner per KafkaSource, PingSource and NatsSource, and the
// GitHubSources' endpoints (served by main.ts on the webhook port). apply() brings them to a new
// set as a reconciler does: a source that is new is started, one whose compiled form changed is
// stopped and started again (a KafkaSource commits what it delivered first and resumes from its
// group's offsets), one that is unchanged keeps running untouched — its in-flight deliveries,
// its consumer and its cron job —, and one that is gone is stopped.

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
  /** Runners that can fail after starting (a KafkaSource's client) say how they are doing. */
  health?: { current: SourceState };
}

/** The GitHubSources' endpoints with their secrets, or the secrets that are missing. */
export function gitHubEndpoints(
  sources: readonly SourceRuntime[],
  options: Pick<SourcesOptions, "env" | "secretsDir"> & { clusterSecrets?: ClusterSecrets },
): { endpoints: Map<string, GitHubEndpoint> } | { problems: string[] } {
  const endpoints = new Map<string, GitHubEndpoint>();
  const problems: string[] = [];
  for (const source of sources) {
    if (source.kind !== "GitHubSource") continue;
    const fromCluster = options.clusterSecrets?.get(secretId(source.namespace, source.secretToken));
    const secret =
      fromCluster !== undefined
        ? { value: fromCluster }
        : readSecret(source.secretToken, options.env, options.secretsDir);
    if ("problem" in secret)
      problems.push(`GitHubSource ${source.namespace}/${source.name}: secretToken: ${secret.problem}`);
    else endpoints.set(`${source.namespace}/${source.name}`, { source, secret: secret.value });
  }
  return problems.length > 0 ? { problems } : { endpoints };
}

/** "KafkaSource default/orders": a source's identity across sets. */
export const sourceKey = (source: Pick<SourceRuntime, "kind" | "namespace" | "name">) =>
  `${source.kind} ${source.namespace}/${source.name}`;

/** A compiled source as comparable text: equal text, nothing to restart (Sets and bytes included). */
export function sourceFingerprint(source: SourceRuntime): string {
  return JSON.stringify(source, (_key, value: unknown) => {
    if (value instanceof Set) return [...value].sort();
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    if (value && typeof value === "object" && !Array.isArray(value))
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return value;
  });
}

export interface SourcesChange {
  started: string[];
  restarted: string[];
  stopped: string[];
  unchanged: string[];
}

interface Running {
  source: SourceRuntime;
  fingerprint: string;
  /** undefined for a GitHubSource: its endpoint is served by the webhook port. */
  runner: Runner | undefined;
  /** When it was started. */
  since: string;
}

export class SourceRunners {
  readonly #options: SourcesOptions;
  readonly #initial: readonly SourceRuntime[];
  #running = new Map<string, Running>();
  #endpoints = new Map<string, GitHubEndpoint>();
  #queue: Promise<unknown> = Promise.resolve();
  #healthListeners: (() => void)[] = [];
  #leading: () => boolean = () => true;

  /** `initial`: what start() runs; apply() changes it from then on. */
  constructor(initial: readonly SourceRuntime[], options: SourcesOptions) {
    this.#initial = initial;
    this.#options = options;
  }

  /** Starts the initial set. */
  async start(): Promise<void> {
    await this.apply(this.#initial);
  }

  /** The sources served now, in the order of the last set applied. */
  get sources(): SourceRuntime[] {
    return [...this.#running.values()].map((r) => r.source);
  }

  /** A source's state: a runner that reports none is running once started. */
  health(source: Pick<SourceRuntime, "kind" | "namespace" | "name">): SourceState | undefined {
    const running = this.#running.get(sourceKey(source));
    if (!running) return undefined;
    return running.runner?.health?.current ?? { state: "running", since: running.since };
  }

  /**
   * Kubernetes mode with a Lease: the PingSources act only while `leading()` says this replica
   * holds it. Losing the Lease stops the sources through the next apply, which may queue behind a
   * slow sync; meanwhile a tick checked here is not sent, so the next leader's ticks are never
   * sent twice.
   */
  followLeader(leading: () => boolean): void {
    this.#leading = leading;
  }

  /** Called whenever a source starts or stops failing. */
  onHealthChange(listener: () => void): void {
    this.#healthListeners.push(listener);
  }

  /** The GitHubSources' endpoints now ("namespace/name"), for the webhook handler. */
  get endpoints(): ReadonlyMap<string, GitHubEndpoint> {
    return this.#endpoints;
  }

  /**
   * Whether `next` can be applied: every GitHubSource's secret is there. Checked before anything
   * changes, so a refused apply leaves everything as it was.
   */
  check(next: readonly SourceRuntime[]): string[] {
    const endpoints = gitHubEndpoints(next, this.#options);
    return "problems" in endpoints ? endpoints.problems : [];
  }

  /**
   * Serves `next` from now on (see above). Applies run one at a time, in call order.
   * `clusterSecrets`: GitHubSources' secrets as read from the API server (Kubernetes mode).
   */
  apply(next: readonly SourceRuntime[], clusterSecrets?: ClusterSecrets): Promise<SourcesChange> {
    const run = this.#queue.then(() => this.#apply(next, clusterSecrets));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(next: readonly SourceRuntime[], clusterSecrets?: ClusterSecrets): Promise<SourcesChange> {
    const endpoints = gitHubEndpoints(next, { ...this.#options, clusterSecrets });
    if ("problems" in endpoints) throw new Error(endpoints.problems.join("; "));
    const change: SourcesChange = { started: [], restarted: [], stopped: [], unchanged: [] };
    const wanted = new Map(next.map((source) => [sourceKey(source), source]));
    // Gone or changed: stopped first, so a changed one never runs twice at once (a KafkaSource
    // would share its group with itself; a PingSource would tick twice).
    const stopping: Promise<void>[] = [];
    for (const [key, running] of this.#running) {
      const source = wanted.get(key);
      if (source && sourceFingerprint(source) === running.fingerprint) continue;
      if (running.runner) stopping.push(running.runner.stop());
      this.#running.delete(key);
      (source ? change.restarted : change.stopped).push(key);
    }
    await Promise.allSettled(stopping);
    // The endpoints swap whole: a GitHubSource applied is served at once, a changed one with its
    // new secret and sink.
    this.#endpoints = endpoints.endpoints;
    // What is left runs on; the new and changed are started one by one. A start that fails (a
    // NatsSource's own server unreachable) leaves the ones before it running and itself not, so
    // the next apply of the same set tries it again.
    for (const [key, source] of wanted) {
      const kept = this.#running.get(key);
      if (kept) {
        kept.source = source;
        change.unchanged.push(key);
      }
    }
    for (const [key, source] of wanted) {
      if (this.#running.has(key)) continue;
      const runner = this.#runner(source);
      await runner?.start();
      this.#running.set(key, {
        source,
        fingerprint: sourceFingerprint(source),
        runner,
        since: new Date().toISOString(),
      });
      if (!change.restarted.includes(key)) change.started.push(key);
    }
    // In the order of `next`, for the status.
    this.#running = new Map(
      [...wanted.keys()].flatMap((key) => {
        const running = this.#running.get(key);
        return running ? [[key, running] as const] : [];
      }),
    );
    return change;
  }

  #runner(source: SourceRuntime): Runner | undefined {
    const options = this.#options;
    if (source.kind === "KafkaSource")
      return new KafkaSourceRunner(source, {
        sink: options.sink,
        log: options.log,
        maxHeld: options.maxInFlight,
        onHealthChange: () => {
          for (const listener of this.#healthListeners) listener();
        },
      });
    if (source.kind === "PingSource")
      return new PingSourceRunner(source, { ...options, mayTick: () => this.#leading() });
    if (source.kind === "NatsSource")
      return new NatsSourceRunner(source, {
        sink: options.sink,
        log: options.log,
        shared: options.nats,
        maxInFlight: options.maxInFlight,
        resolve: options.resolve,
      });
    return undefined; // GitHubSource: an endpoint
  }

  async stop(): Promise<void> {
    await this.#queue;
    await Promise.allSettled([...this.#running.values()].map((r) => r.runner?.stop()));
  }
}

/** For GET /v1/eventing: each source, its sink and its counts. */
export function sourcesStatus(
  sources: readonly SourceRuntime[],
  metrics: SourceMetrics,
  /** The webhook port's URL, once it listens: a GitHubSource's Payload URL is under it. */
  webhookUrl?: string,
  /** Each source's state (SourceRunners.health). */
  health?: (source: SourceRuntime) => SourceState | undefined,
) {
  return sources.map((s) => ({
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    sink: s.sink.describe,
    ...(s.kind === "GitHubSource" && webhookUrl ? { url: `${webhookUrl}/${s.namespace}/${s.name}` } : {}),
    ...(health?.(s) ? { status: health(s) } : {}),
    counts: {
      delivered: metrics.count(s.kind, s.namespace, s.name, "delivered"),
      retried: metrics.count(s.kind, s.namespace, s.name, "retried"),
      deadLettered: metrics.count(s.kind, s.namespace, s.name, "dead_lettered"),
      dropped: metrics.count(s.kind, s.namespace, s.name, "dropped"),
      rejected: metrics.count(s.kind, s.namespace, s.name, "rejected"),
    },
  }));
}
