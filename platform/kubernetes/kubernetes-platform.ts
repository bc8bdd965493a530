import type { V1EndpointSlice } from "@kubernetes/client-node";
import { revisionKey } from "../../common/state.ts";
import type { Platform, PodTemplate, RevisionPods } from "../platform.ts";
import { podStatuses } from "./endpoints.ts";
import type { KubeClient, RevisionCR } from "./kube-client.ts";
import { podServiceName } from "./names.ts";
import { healthOf } from "./service-reconciler.ts";

/** What the platform reads: the cluster controller's caches (its informers). */
export interface ClusterView {
  /** A Revision object by namespace and name, as last seen. */
  revision(namespace: string, name: string): RevisionCR | undefined;
  /** The EndpointSlices of a core Service (the revision's `-private` one). */
  slices(namespace: string, service: string): V1EndpointSlice[];
  /** A revision Deployment's replicas now (undefined: no Deployment yet). */
  replicas(namespace: string, revision: string): number | undefined;
}

interface Known {
  namespace: string;
  name: string;
  desired: number;
}

/**
 * The platform interface over a cluster: a revision's pods are what its EndpointSlices list, its
 * failure is what its Revision's status says (the pods' reason: image pull, crash loop,
 * unschedulable), and `scale` records the autoscaler's decision and asks for the revision to be
 * reconciled, which sets the Deployment's replicas through the scale subresource.
 */
export class KubernetesPlatform implements Platform {
  readonly #client: KubeClient;
  readonly #view: ClusterView;
  readonly #reconcile: (key: string) => void;
  readonly #known = new Map<string, Known>();
  readonly #listeners: ((key: string) => void)[] = [];

  constructor(client: KubeClient, view: ClusterView, reconcile: (key: string) => void) {
    this.#client = client;
    this.#view = view;
    this.#reconcile = reconcile;
  }

  ensureRevision(template: PodTemplate): void {
    const key = revisionKey(template.namespace, template.revision);
    if (this.#known.has(key)) return;
    // Its pods run without the autoscaler: a restarted one starts from the scale they have.
    const desired = this.#view.replicas(template.namespace, template.revision) ?? 0;
    this.#known.set(key, { namespace: template.namespace, name: template.revision, desired });
    // Its Deployment (and status) now, not at the first scale that differs.
    this.#reconcile(key);
  }

  scale(key: string, replicas: number): void {
    const known = this.#known.get(key);
    if (!known || known.desired === replicas) return;
    known.desired = replicas;
    this.#reconcile(key);
  }

  /** The scale the autoscaler asked for (undefined: not a revision it runs, so leave it as it is). */
  desired(key: string): number | undefined {
    return this.#known.get(key)?.desired;
  }

  async deleteRevision(key: string): Promise<void> {
    const known = this.#known.get(key);
    if (!known) return;
    this.#known.delete(key);
    await this.#client.deleteRevision(known.namespace, known.name);
  }

  revision(key: string): RevisionPods | undefined {
    const known = this.#known.get(key);
    if (!known) return undefined;
    const pods = podStatuses(this.#view.slices(known.namespace, podServiceName(known.name)));
    const object = this.#view.revision(known.namespace, known.name);
    const health = object ? healthOf(object) : undefined;
    return {
      key,
      desired: known.desired,
      pods,
      failure:
        health?.state === "failed"
          ? { reason: health.failure.reason, logs: health.failure.message ? [health.failure.message] : [] }
          : undefined,
    };
  }

  onChange(listener: (key: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Told by the cluster controller: the revision's EndpointSlices or status changed. */
  changed(key: string): void {
    if (!this.#known.has(key)) return;
    for (const listener of this.#listeners) listener(key);
  }

  async close(): Promise<void> {
    // The pods run without the autoscaler: nothing to stop here (the informers are the controller's).
  }
}
