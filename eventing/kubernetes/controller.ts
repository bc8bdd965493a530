import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import type { Condition } from "../../platform/kubernetes/conditions.ts";
import { Informer, type InformerOptions, type KubeObject } from "../../platform/kubernetes/informer.ts";
import { WorkQueue } from "../../platform/kubernetes/work-queue.ts";
import { canonicalJson } from "../../serving/revisions.ts";
import type { ResolveOptions } from "../resources/compile.ts";
import { resolveSink } from "../resources/compile-sources.ts";
import type { Destination } from "../resources/manifest.ts";
import { EVENTING_KINDS, type EventingKind, resourceId } from "./kinds.ts";
import { buildResources, type ClusterResources } from "./resource-set.ts";
import { type ResourceFacts, resourceStatus, targetUri } from "./resource-status.ts";
import { SOLE_REPLICA, type SourceLeader } from "./source-leader.ts";
import { StatusWriter } from "./status-writer.ts";
import { toDocument } from "./to-document.ts";

// Eventing's resources from the API server: an informer per kind (list + watch + resync), and on
// any change one level-triggered sync of the whole set, as the file path serves it — every
// resource validated (a bad one left out with its problems, the rest served), the valid set
// applied as one snapshot (EventingRuntime.apply, Envoy-style), then each resource's status
// written where it differs. One key in a work queue: a burst of changes is one sync, a failed
// sync (NATS away, the API server refusing a write) comes back after a growing back-off. When
// the API server goes away the last applied set keeps serving. With several replicas every one
// serves the set; the one that leads (source-leader.ts) also runs the sources and alone writes
// status, so replicas never write different verdicts (a source "not started" on a follower).

export interface EventingControllerOptions {
  kubeConfig: KubeConfig;
  /** The router and the Services' domain, as for files. */
  resolve: ResolveOptions;
  /** EVENTING_INGRESS_URL: Brokers' addresses are {ingressUrl}/{namespace}/{name}. */
  ingressUrl: string;
  /**
   * Serves the valid resources; called when they changed, and again after an apply that answered
   * false (something could not start yet).
   */
  apply: (resources: ClusterResources) => Promise<boolean | undefined>;
  /**
   * Kinds taken but not run in this mode, with why: valid ones get Ready=False, reason
   * NotSupported, and the message.
   */
  unsupported?: ReadonlyMap<string, string>;
  /** A served source that does not run, by id ("KafkaSource ns/name"): why (Ready=False, NotRunning). */
  notRunning?: (id: string) => string | undefined;
  /** A source that runs but fails, by id: why (Ready=False, SourceFailing). */
  failing?: (id: string) => string | undefined;
  /** Which replica runs the sources and writes status (default: this one, always). */
  leader?: SourceLeader;
  log: Logger;
  informer?: InformerOptions;
  /** The queue's back-off after failed syncs (tests shorten it). */
  retry?: { baseMs: number; maxMs: number };
}

const SYNC = "eventing";
/** How soon an apply that left something not started is tried again. */
const INCOMPLETE_RETRY_MS = 5_000;

export class EventingController {
  readonly writer: StatusWriter;
  readonly #options: EventingControllerOptions;
  readonly #informers: { kind: EventingKind; informer: Informer<KubeObject> }[];
  readonly #queue: WorkQueue;
  /** The documents last applied (canonical JSON), so a status-only change applies nothing. */
  #applied: string | undefined;
  /** Every cache filled: before that a sync would serve a partial set (and prune consumers). */
  #listed = false;
  /** A sync has succeeded: what the cluster holds is served and its status written. */
  #synced = false;
  /** Syncs done, for tests and logs. */
  syncs = 0;

  constructor(options: EventingControllerOptions) {
    this.#options = options;
    this.writer = new StatusWriter(options.kubeConfig);
    const { log } = options;
    this.#informers = EVENTING_KINDS.map((kind) => {
      const informer = new Informer<KubeObject>(
        options.kubeConfig,
        { group: kind.group, version: kind.version, plural: kind.plural },
        {
          ...options.informer,
          onError: (error) =>
            log.warn(
              { err: (error as Error).message, resource: `${kind.plural}.${kind.group}` },
              `cannot list or watch ${kind.kind}s; retrying (404: the Eventing CRDs are not installed, see the chart's eventing.enabled; 403: eventing's RBAC)`,
            ),
        },
      );
      informer.on(() => {
        if (this.#listed) this.#queue.add(SYNC);
      });
      return { kind, informer };
    });
    this.#queue = new WorkQueue(
      async () => {
        try {
          await this.#sync();
        } catch (error) {
          log.warn({ err: (error as Error).message }, "eventing sync failed; retrying");
          throw error;
        }
      },
      {
        concurrency: 1,
        backoff: { ...(options.retry ?? { baseMs: 250, maxMs: 30_000 }), jitter: 0.2 },
      },
    );
  }

  /** Whether a sync has succeeded (readiness: until then the ingress may not know the Brokers). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Lists and watches every kind; resolves once the first sync has been tried (failed ones retry). */
  async start(): Promise<void> {
    await Promise.all(this.#informers.map(({ informer }) => informer.start()));
    this.#listed = true;
    // Leading or not changes what is served (the sources) and who writes status: apply again.
    this.#leader.start(() => this.#reapply());
    this.#queue.add(SYNC);
    await this.#queue.idle();
  }

  get #leader(): SourceLeader {
    return this.#options.leader ?? SOLE_REPLICA;
  }

  #reapply(): void {
    this.#applied = undefined;
    if (this.#listed) this.#queue.add(SYNC);
  }

  /** Syncs again from the caches (as the informers' periodic resync does). */
  resync(): void {
    for (const { informer } of this.#informers) informer.resync();
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#leader.stop();
    await Promise.all(this.#informers.map(({ informer }) => informer.stop()));
  }

  async #sync(): Promise<void> {
    this.syncs++;
    const { resolve, ingressUrl, log } = this.#options;
    const objects = this.#informers.flatMap(({ kind, informer }) =>
      informer.list().map((object) => ({ kind, object, document: toDocument(object, kind) })),
    );
    const documents = objects.map((o) => o.document);
    const resources = buildResources(documents, resolve);
    const fingerprint = canonicalJson(documents);
    let complete = true;
    if (fingerprint !== this.#applied) {
      complete = (await this.#options.apply(resources)) !== false;
      this.#applied = complete ? fingerprint : undefined;
      const refused = [...resources.problems].filter(([, problems]) => problems.length > 0);
      log.info(
        {
          brokers: resources.set.brokers.size,
          triggers: resources.set.triggers.length,
          sources: resources.sources.length,
          refused: refused.map(([id]) => id),
        },
        "eventing resources applied from the cluster",
      );
    }

    if (!this.#leader.leading) {
      // The leader writes status; this replica serves what the cluster holds.
      this.#synced = true;
      if (!complete) this.#queue.addAfter(SYNC, INCOMPLETE_RETRY_MS);
      return;
    }
    const triggers = new Map(resources.set.triggers.map((t) => [`${t.namespace}/${t.name}`, t]));
    const sinkOptions = { ...resolve, brokerIngressUrl: ingressUrl };
    const now = new Date();
    let failures = 0;
    for (const { kind, object, document } of objects) {
      const { namespace, name } = document.metadata;
      const id = resourceId(kind.kind, namespace, name);
      const facts: ResourceFacts = {
        kind: kind.kind,
        generation: undefined,
        problems: resources.problems.get(id) ?? [],
      };
      if (facts.problems.length === 0) {
        if (kind.kind === "Broker") facts.address = `${ingressUrl}/${namespace}/${name}`;
        const trigger = kind.kind === "Trigger" ? triggers.get(`${namespace}/${name}`) : undefined;
        if (trigger) facts.subscriberUri = targetUri(trigger.subscriber);
        const sink = (document.spec as { sink?: Destination } | undefined)?.sink;
        if (kind.group.startsWith("sources.") && sink)
          facts.sinkUri = targetUri(resolveSink(sink, namespace, sinkOptions));
        const unsupported = this.#options.unsupported?.get(kind.kind);
        const notRunning = this.#options.notRunning?.(id);
        if (unsupported) facts.notReady = { reason: "NotSupported", message: unsupported };
        else if (notRunning) facts.notReady = { reason: "NotRunning", message: notRunning };
        else {
          const failing = this.#options.failing?.(id);
          if (failing) facts.notReady = { reason: "SourceFailing", message: failing };
        }
      }
      try {
        await this.writer.write(kind, object, (current) =>
          resourceStatus(
            { ...facts, generation: current.metadata?.generation as number | undefined },
            current.status as { conditions?: Condition[] } | undefined,
            now,
          ),
        );
      } catch (error) {
        failures++;
        log.warn({ resource: id, err: (error as Error).message }, "cannot write status");
      }
    }
    if (failures > 0) throw new Error(`${failures} status writes failed`);
    this.#synced = true;
    if (!complete) this.#queue.addAfter(SYNC, INCOMPLETE_RETRY_MS);
  }
}
