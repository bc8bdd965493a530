import * as k8s from "@kubernetes/client-node";
import { isStatus } from "./api-status.ts";
import { LABEL, type ServingGroup, SLUICE_GROUP } from "./names.ts";
import type { RevisionObject } from "./revision-object.ts";

/**
 * The API calls the reconcilers make, typed, in one place: reads answer undefined for 404, every
 * write is counted (so a test can see that a second reconcile writes nothing), and updates are
 * read-modify-write with the object's resourceVersion, re-read and re-applied on 409 Conflict.
 */

/** A Service custom object (serving.sluice.dev/v1) as read: the spec is Knative's, checked by validation.ts. */
export interface ServiceObject {
  apiVersion: string;
  kind: "Service";
  metadata: k8s.V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export type RevisionCR = RevisionObject & { status?: Record<string, unknown> };

/** One write the client made: what the idempotence tests count. */
export interface Write {
  verb: "create" | "update" | "update-status" | "scale" | "delete";
  kind: string;
  namespace: string;
  name: string;
}

export interface KubeClientOptions {
  group?: ServingGroup;
  /** Attempts of a read-modify-write before its 409 is given up (default 5). */
  conflictAttempts?: number;
  /**
   * Called between the read and the write of an update (tests use it to make a concurrent change,
   * hence a real 409).
   */
  beforeUpdate?: (write: Write) => Promise<void> | void;
}

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** `mutate` returns the object to write, or undefined when the current one needs no change. */
export type Mutate<T> = (current: T) => T | undefined;

export class KubeClient {
  readonly group: ServingGroup;
  /** Every write, in order. */
  readonly writes: Write[] = [];
  /** 409s met by updates (each retried). */
  conflicts = 0;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #core: k8s.CoreV1Api;
  readonly #apps: k8s.AppsV1Api;
  readonly #autoscaling: k8s.AutoscalingV2Api;
  readonly #discovery: k8s.DiscoveryV1Api;
  readonly #attempts: number;
  readonly #beforeUpdate: KubeClientOptions["beforeUpdate"];

  constructor(kubeConfig: k8s.KubeConfig, options: KubeClientOptions = {}) {
    this.group = options.group ?? SLUICE_GROUP;
    this.#custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.#core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.#autoscaling = kubeConfig.makeApiClient(k8s.AutoscalingV2Api);
    this.#discovery = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.#attempts = options.conflictAttempts ?? 5;
    this.#beforeUpdate = options.beforeUpdate;
  }

  #cr(plural: "services" | "revisions", namespace: string) {
    return { group: this.group, version: "v1", namespace, plural };
  }

  /**
   * Read, mutate, write with the read's resourceVersion; on 409 read again and mutate again.
   * Answers the object written, the current one when nothing needed writing, undefined when gone.
   */
  async #update<T extends { metadata?: k8s.V1ObjectMeta }>(
    write: Write,
    read: () => Promise<T | undefined>,
    replace: (body: T) => Promise<T>,
    mutate: Mutate<T>,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await read();
      if (current === undefined) return undefined;
      const next = mutate(current);
      if (next === undefined) return current;
      await this.#beforeUpdate?.(write);
      try {
        const written = await replace(next);
        this.writes.push(write);
        return written;
      } catch (error) {
        if (!isStatus(error, 409) || attempt >= this.#attempts) throw error;
        this.conflicts++;
      }
    }
  }

  // Services (the custom resource).

  async getService(namespace: string, name: string): Promise<ServiceObject | undefined> {
    return orUndefined(this.#custom.getNamespacedCustomObject({ ...this.#cr("services", namespace), name }));
  }

  async listServices(namespace: string): Promise<ServiceObject[]> {
    const list = await this.#custom.listNamespacedCustomObject(this.#cr("services", namespace));
    return (list as { items: ServiceObject[] }).items;
  }

  updateServiceStatus(
    namespace: string,
    name: string,
    mutate: Mutate<ServiceObject>,
  ): Promise<ServiceObject | undefined> {
    return this.#update(
      { verb: "update-status", kind: "Service", namespace, name },
      () => this.getService(namespace, name),
      (body) =>
        this.#custom.replaceNamespacedCustomObjectStatus({ ...this.#cr("services", namespace), name, body }),
      mutate,
    );
  }

  // Revisions.

  async getRevision(namespace: string, name: string): Promise<RevisionCR | undefined> {
    return orUndefined(this.#custom.getNamespacedCustomObject({ ...this.#cr("revisions", namespace), name }));
  }

  /** A service's Revision objects, by the service label every Revision sluice makes carries. */
  async listRevisions(namespace: string, service: string): Promise<RevisionCR[]> {
    const list = await this.#custom.listNamespacedCustomObject({
      ...this.#cr("revisions", namespace),
      labelSelector: `${LABEL.service}=${service}`,
    });
    return (list as { items: RevisionCR[] }).items;
  }

  async createRevision(body: RevisionObject): Promise<RevisionCR> {
    const namespace = body.metadata.namespace ?? "default";
    const created = await this.#custom.createNamespacedCustomObject({
      ...this.#cr("revisions", namespace),
      body,
    });
    this.writes.push({ verb: "create", kind: "Revision", namespace, name: body.metadata.name ?? "" });
    return created as RevisionCR;
  }

  updateRevisionStatus(
    namespace: string,
    name: string,
    mutate: Mutate<RevisionCR>,
  ): Promise<RevisionCR | undefined> {
    return this.#update(
      { verb: "update-status", kind: "Revision", namespace, name },
      () => this.getRevision(namespace, name),
      (body) =>
        this.#custom.replaceNamespacedCustomObjectStatus({ ...this.#cr("revisions", namespace), name, body }),
      mutate,
    );
  }

  /** Deletes a Revision (its Deployment, Service and HPA go with it: they are owned); gone already is fine. */
  async deleteRevision(namespace: string, name: string): Promise<void> {
    try {
      await this.#custom.deleteNamespacedCustomObject({
        ...this.#cr("revisions", namespace),
        name,
        propagationPolicy: "Background",
      });
      this.writes.push({ verb: "delete", kind: "Revision", namespace, name });
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  // Deployments.

  getDeployment(namespace: string, name: string): Promise<k8s.V1Deployment | undefined> {
    return orUndefined(this.#apps.readNamespacedDeployment({ namespace, name }));
  }

  async createDeployment(body: k8s.V1Deployment): Promise<k8s.V1Deployment> {
    const namespace = body.metadata?.namespace ?? "default";
    const created = await this.#apps.createNamespacedDeployment({ namespace, body });
    this.writes.push({ verb: "create", kind: "Deployment", namespace, name: body.metadata?.name ?? "" });
    return created;
  }

  updateDeployment(
    namespace: string,
    name: string,
    mutate: Mutate<k8s.V1Deployment>,
  ): Promise<k8s.V1Deployment | undefined> {
    return this.#update(
      { verb: "update", kind: "Deployment", namespace, name },
      () => this.getDeployment(namespace, name),
      (body) => this.#apps.replaceNamespacedDeployment({ namespace, name, body }),
      mutate,
    );
  }

  /** Sets a Deployment's replicas through its scale subresource (a merge patch: nothing to conflict on). */
  async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
    await this.#apps.patchNamespacedDeploymentScale(
      { namespace, name, body: { spec: { replicas } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    this.writes.push({ verb: "scale", kind: "Deployment", namespace, name });
  }

  // Core Services (the revision's headless `-private` one).

  getCoreService(namespace: string, name: string): Promise<k8s.V1Service | undefined> {
    return orUndefined(this.#core.readNamespacedService({ namespace, name }));
  }

  async createCoreService(body: k8s.V1Service): Promise<k8s.V1Service> {
    const namespace = body.metadata?.namespace ?? "default";
    const created = await this.#core.createNamespacedService({ namespace, body });
    this.writes.push({ verb: "create", kind: "v1/Service", namespace, name: body.metadata?.name ?? "" });
    return created;
  }

  updateCoreService(
    namespace: string,
    name: string,
    mutate: Mutate<k8s.V1Service>,
  ): Promise<k8s.V1Service | undefined> {
    return this.#update(
      { verb: "update", kind: "v1/Service", namespace, name },
      () => this.getCoreService(namespace, name),
      (body) => this.#core.replaceNamespacedService({ namespace, name, body }),
      mutate,
    );
  }

  // HorizontalPodAutoscalers.

  getHpa(namespace: string, name: string): Promise<k8s.V2HorizontalPodAutoscaler | undefined> {
    return orUndefined(this.#autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name }));
  }

  async createHpa(body: k8s.V2HorizontalPodAutoscaler): Promise<k8s.V2HorizontalPodAutoscaler> {
    const namespace = body.metadata?.namespace ?? "default";
    const created = await this.#autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace, body });
    this.writes.push({
      verb: "create",
      kind: "HorizontalPodAutoscaler",
      namespace,
      name: body.metadata?.name ?? "",
    });
    return created;
  }

  updateHpa(
    namespace: string,
    name: string,
    mutate: Mutate<k8s.V2HorizontalPodAutoscaler>,
  ): Promise<k8s.V2HorizontalPodAutoscaler | undefined> {
    return this.#update(
      { verb: "update", kind: "HorizontalPodAutoscaler", namespace, name },
      () => this.getHpa(namespace, name),
      (body) => this.#autoscaling.replaceNamespacedHorizontalPodAutoscaler({ namespace, name, body }),
      mutate,
    );
  }

  // Secrets (the hop secret's copy in each namespace sluice runs revisions in).

  getSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    return orUndefined(this.#core.readNamespacedSecret({ namespace, name }));
  }

  async createSecret(body: k8s.V1Secret): Promise<k8s.V1Secret> {
    const namespace = body.metadata?.namespace ?? "default";
    const created = await this.#core.createNamespacedSecret({ namespace, body });
    this.writes.push({ verb: "create", kind: "Secret", namespace, name: body.metadata?.name ?? "" });
    return created;
  }

  updateSecret(
    namespace: string,
    name: string,
    mutate: Mutate<k8s.V1Secret>,
  ): Promise<k8s.V1Secret | undefined> {
    return this.#update(
      { verb: "update", kind: "Secret", namespace, name },
      () => this.getSecret(namespace, name),
      (body) => this.#core.replaceNamespacedSecret({ namespace, name, body }),
      mutate,
    );
  }

  // Reads for status.

  async listPods(namespace: string, labelSelector: string): Promise<k8s.V1Pod[]> {
    return (await this.#core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  async listEndpointSlices(namespace: string, service: string): Promise<k8s.V1EndpointSlice[]> {
    const list = await this.#discovery.listNamespacedEndpointSlice({
      namespace,
      labelSelector: `kubernetes.io/service-name=${service}`,
    });
    return list.items;
  }
}
