import type { KubeConfig, V1Deployment, V1EndpointSlice, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import { revisionKey } from "../../common/state.ts";
import type { SourceOptions } from "../../eventing/resources/compile-sources.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import type { Revision } from "../../serving/revisions.ts";
import type { QueueProxyOptions } from "./deployment.ts";
import { ensureHopSecret, HOP_SECRET } from "./hop-secret.ts";
import { Informer, type InformerEvent, type InformerOptions, type KubeObject } from "./informer.ts";
import type { KubeClient, RevisionCR, ServiceObject } from "./kube-client.ts";
import { KubernetesPlatform } from "./kubernetes-platform.ts";
import { deploymentName, LABEL } from "./names.ts";
import { reconcileRevision } from "./revision-reconciler.ts";
import { reconcileService } from "./service-reconciler.ts";
import { SINK_BINDING_RESOURCE, SinkBindingCache, sinkEnvVars } from "./sink-binding-env.ts";
import { WorkQueue } from "./work-queue.ts";

/** Where the services the cluster holds go: the autoscaler's controller (syncService). */
export interface ServiceSink {
  syncService(
    namespace: string,
    name: string,
    found: { manifest: ServiceManifest; revisions: (Revision & { readyAt?: number })[] } | undefined,
  ): void;
}

export interface ClusterControllerOptions {
  kubeConfig: KubeConfig;
  client: KubeClient;
  /** Hosts are {service}.{namespace}.{domain}. */
  domain: string;
  /** How revision pods run their queue-proxy; its hopSecret is set here when `hopSecret` is. */
  queueProxy: QueueProxyOptions;
  /** SLUICE_HOP_SECRET: copied into every namespace with revisions, for their queue-proxies. */
  hopSecret?: string;
  sink: ServiceSink;
  /**
   * With Eventing installed: SinkBindings are watched, and a bound Service's revisions get K_SINK
   * (resolved with these: the Broker ingress, the router, the domain) in their user containers.
   */
  sinkBindings?: SourceOptions;
  log: Logger;
  informer?: InformerOptions;
}

/** How long a revision whose service the autoscaler does not run (yet) waits before another look. */
const UNKNOWN_REVISION_RETRY_MS = 5_000;

const SLICE_SERVICE_LABEL = "kubernetes.io/service-name";

/**
 * The Kubernetes side of the autoscaler: informers on Services, Revisions, Deployments, Pods and
 * EndpointSlices feed two work queues, one reconciling Services (validation, the Revision a
 * template calls for, status) and one reconciling Revisions (Deployment, `-private` Service, HPA,
 * status). Reconciled Services go to the sink, which scales them through `platform`.
 *
 * The informers run from `start()` on, so a standby replica's caches are warm; the queues work
 * only from `lead()` on (leader election), so two replicas never both write.
 */
export class ClusterController {
  readonly platform: KubernetesPlatform;
  readonly #options: ClusterControllerOptions;
  readonly #services: Informer<ServiceObject & KubeObject>;
  readonly #revisions: Informer<RevisionCR & KubeObject>;
  readonly #deployments: Informer<V1Deployment & KubeObject>;
  readonly #pods: Informer<V1Pod & KubeObject>;
  readonly #slices: Informer<V1EndpointSlice & KubeObject>;
  readonly #sinkBindings: Informer<KubeObject> | undefined;
  readonly #bindingCache = new SinkBindingCache();
  readonly #serviceQueue: WorkQueue;
  readonly #revisionQueue: WorkQueue;
  /** EndpointSlice keys by their Service ("namespace/name"): a revision's pods without a scan. */
  readonly #slicesByService = new Map<string, Set<string>>();
  #leading = false;

  constructor(options: ClusterControllerOptions) {
    this.#options = options;
    const { kubeConfig, client, log } = options;
    const informerOptions: InformerOptions = {
      ...options.informer,
      onError: (error) => log.warn({ err: error }, "watch failed; retrying"),
    };
    const watch = <T extends KubeObject>(
      group: string,
      version: string,
      plural: string,
      labelSelector?: string,
    ) => new Informer<T>(kubeConfig, { group, version, plural, labelSelector }, informerOptions);
    this.#services = watch(client.group, "v1", "services");
    this.#revisions = watch(client.group, "v1", "revisions");
    this.#deployments = watch("apps", "v1", "deployments", LABEL.revision);
    this.#pods = watch("", "v1", "pods", LABEL.revision);
    this.#slices = watch("discovery.k8s.io", "v1", "endpointslices", LABEL.revision);
    this.#sinkBindings = options.sinkBindings
      ? watch(SINK_BINDING_RESOURCE.group, SINK_BINDING_RESOURCE.version, SINK_BINDING_RESOURCE.plural)
      : undefined;
    this.platform = new KubernetesPlatform(
      client,
      {
        revision: (namespace, name) => this.#revisions.get(`${namespace}/${name}`),
        slices: (namespace, service) =>
          [...(this.#slicesByService.get(`${namespace}/${service}`) ?? [])].flatMap(
            (key) => this.#slices.get(key) ?? [],
          ),
        replicas: (namespace, name) =>
          this.#deployments.get(`${namespace}/${deploymentName(name)}`)?.spec?.replicas,
      },
      (key) => this.#whenLeading(() => this.#revisionQueue.add(key)),
    );
    this.#serviceQueue = new WorkQueue((key) =>
      this.#logged("Service", key, () => this.#reconcileService(key)),
    );
    this.#revisionQueue = new WorkQueue((key) =>
      this.#logged("Revision", key, () => this.#reconcileRevision(key)),
    );

    this.#services.on((event) => this.#whenLeading(() => this.#serviceQueue.add(event.key)));
    this.#revisions.on((event) => {
      this.platform.changed(event.key);
      this.#whenLeading(() => {
        this.#revisionQueue.add(event.key);
        const service = event.object.metadata?.labels?.[LABEL.service];
        if (service) this.#serviceQueue.add(`${event.object.metadata?.namespace}/${service}`);
      });
    });
    const byRevisionLabel = (
      event: InformerEvent<KubeObject & { metadata?: { labels?: Record<string, string> } }>,
    ) => {
      const revision = event.object.metadata?.labels?.[LABEL.revision];
      if (!revision) return;
      const key = revisionKey(event.object.metadata?.namespace ?? "default", revision);
      this.platform.changed(key);
      this.#whenLeading(() => this.#revisionQueue.add(key));
    };
    this.#deployments.on(byRevisionLabel);
    this.#pods.on(byRevisionLabel);
    this.#slices.on((event) => {
      this.#indexSlice(event);
      byRevisionLabel(event);
    });
    // A binding added, changed or deleted: every revision in its namespace is looked at again
    // (its Deployment is updated only where the environment it gets changed).
    this.#sinkBindings?.on((event) => {
      if (event.type === "resync") return;
      const prefix = `${event.object.metadata?.namespace}/`;
      this.#whenLeading(() => {
        for (const key of this.#revisions.keys()) if (key.startsWith(prefix)) this.#revisionQueue.add(key);
      });
    });
  }

  /** Lists and watches everything; resolves once every cache is filled. */
  async start(): Promise<void> {
    await Promise.all(this.#informers().map((informer) => informer.start()));
  }

  /** This replica leads: reconcile everything once, then whatever changes. */
  lead(): void {
    this.#leading = true;
    for (const key of this.#services.keys()) this.#serviceQueue.add(key);
    for (const key of this.#revisions.keys()) this.#revisionQueue.add(key);
  }

  /** Resolves once no Service reconcile is queued or running (failed ones wait their back-off). */
  servicesIdle(): Promise<void> {
    return this.#serviceQueue.idle();
  }

  async stop(): Promise<void> {
    this.#leading = false;
    await Promise.all([
      this.#serviceQueue.shutDown(),
      this.#revisionQueue.shutDown(),
      ...this.#informers().map((informer) => informer.stop()),
    ]);
  }

  #informers(): Informer<KubeObject>[] {
    return [
      this.#services,
      this.#revisions,
      this.#deployments,
      this.#pods,
      this.#slices,
      ...(this.#sinkBindings ? [this.#sinkBindings] : []),
    ] as Informer<KubeObject>[];
  }

  #indexSlice(event: InformerEvent<V1EndpointSlice & KubeObject>): void {
    const service = `${event.object.metadata?.namespace}/${event.object.metadata?.labels?.[SLICE_SERVICE_LABEL]}`;
    const keys = this.#slicesByService.get(service) ?? new Set<string>();
    if (event.type === "delete") keys.delete(event.key);
    else keys.add(event.key);
    if (keys.size === 0) this.#slicesByService.delete(service);
    else this.#slicesByService.set(service, keys);
  }

  /** A failed reconcile is retried by the queue with back-off; it is said here, once per failure. */
  async #logged(kind: string, key: string, reconcile: () => Promise<void>): Promise<void> {
    try {
      await reconcile();
    } catch (error) {
      this.#options.log.warn(
        { err: error, [kind.toLowerCase()]: key },
        `${kind} reconcile failed; retrying with back-off`,
      );
      throw error;
    }
  }

  #whenLeading(enqueue: () => void): void {
    if (this.#leading) enqueue();
  }

  async #reconcileService(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const { client, domain, sink, log } = this.#options;
    const result = await reconcileService(client, namespace, name, { domain });
    if (result.outcome === "gone") {
      sink.syncService(namespace, name, undefined);
    } else if (result.outcome === "invalid") {
      // The last accepted form keeps running; the problems are in the Service's status.
      log.info({ namespace, service: name, problems: result.problems }, "service refused");
    } else {
      if (result.created)
        log.info({ namespace, service: name, revision: result.revision }, "revision created");
      sink.syncService(namespace, name, { manifest: result.manifest, revisions: result.revisions });
    }
  }

  async #reconcileRevision(key: string): Promise<void> {
    // Deleted meanwhile: nothing to reconcile, and no retry to keep.
    if (!this.#revisions.get(key)) return;
    const desired = this.platform.desired(key);
    if (desired === undefined) {
      // Its service is not (yet) one the autoscaler runs: its scale is not known, so nothing is changed.
      this.#revisionQueue.addAfter(key, UNKNOWN_REVISION_RETRY_MS);
      return;
    }
    const [namespace, name] = splitKey(key);
    const { client, hopSecret, sinkBindings } = this.#options;
    const queueProxy = { ...this.#options.queueProxy };
    if (hopSecret !== undefined) {
      // Checked on every reconcile (one GET): a copy deleted by hand, or a namespace made again,
      // gets it back before a pod needs it.
      await ensureHopSecret(client, namespace, hopSecret);
      queueProxy.hopSecret = { ...HOP_SECRET };
    }
    const bindings = sinkBindings && this.#bindingCache.bindings(this.#sinkBindings?.list() ?? []);
    await reconcileRevision(client, namespace, name, desired, {
      queueProxy,
      ...(sinkBindings && bindings?.length
        ? { injectedEnv: (revision) => sinkEnvVars(bindings, revision, sinkBindings) }
        : {}),
    });
  }
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}
