import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { isStatus } from "../../platform/kubernetes/api-status.ts";
import type { KubeObject } from "../../platform/kubernetes/informer.ts";
import { canonicalJson } from "../../serving/revisions.ts";
import type { EventingKind } from "./kinds.ts";

// Writes an Eventing resource's status through its status subresource, only when it differs:
// read-modify-write with the object's resourceVersion, starting from the informer's copy (no read
// when that is current), and on 409 Conflict read again and decide again. A resource deleted
// meanwhile is not an error.

export type WriteResult = "written" | "unchanged" | "gone";

const ATTEMPTS = 5;

export class StatusWriter {
  readonly #api: CustomObjectsApi;
  /** Status writes made (tests check that a second sync writes nothing). */
  writes = 0;

  constructor(kubeConfig: KubeConfig) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /**
   * `status(current)` is the status wanted given the object as read (its generation, its previous
   * conditions); written unless equal to the object's.
   */
  async write(
    kind: EventingKind,
    cached: KubeObject,
    status: (current: KubeObject) => unknown,
  ): Promise<WriteResult> {
    const namespace = cached.metadata?.namespace ?? "default";
    const name = cached.metadata?.name ?? "";
    const ref = { group: kind.group, version: kind.version, namespace, plural: kind.plural, name };
    let current: KubeObject | undefined = cached;
    for (let attempt = 1; ; attempt++) {
      const next = status(current);
      if (canonicalJson(next) === canonicalJson(current.status ?? null)) return "unchanged";
      try {
        await this.#api.replaceNamespacedCustomObjectStatus({
          ...ref,
          body: { ...current, apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, status: next },
        });
        this.writes++;
        return "written";
      } catch (error) {
        if (isStatus(error, 404)) return "gone";
        if (!isStatus(error, 409) || attempt >= ATTEMPTS) throw error;
      }
      try {
        current = (await this.#api.getNamespacedCustomObject(ref)) as KubeObject;
      } catch (error) {
        if (isStatus(error, 404)) return "gone";
        throw error;
      }
    }
  }
}
