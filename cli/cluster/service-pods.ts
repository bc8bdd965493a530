// The pods of a service (or of one revision, or of every sluice service) in a cluster, by the
// labels the revision Deployment puts on them (names.ts), and, when there are none, whether the
// service or revision exists at all (and which ones do).
import { CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import { isStatus } from "../../platform/kubernetes/api-status.ts";
import { LABEL, QUEUE_PROXY_CONTAINER, USER_CONTAINER } from "../../platform/kubernetes/names.ts";
import { describeApiError, statusBody } from "./api-error.ts";
import type { ClusterTarget } from "./target.ts";

export interface PodsWanted {
  service?: string;
  revision?: string;
}

/** A failure, described for a person. */
export class PodsFailed extends Error {}

export function podSelector(wanted: PodsWanted): string {
  const parts = [wanted.service === undefined ? LABEL.service : `${LABEL.service}=${wanted.service}`];
  if (wanted.revision !== undefined) parts.push(`${LABEL.revision}=${wanted.revision}`);
  return parts.join(",");
}

/** The pods, oldest first (then by name). */
export async function listServicePods(target: ClusterTarget, wanted: PodsWanted): Promise<V1Pod[]> {
  const core = target.kubeConfig.makeApiClient(CoreV1Api);
  const labelSelector = podSelector(wanted);
  try {
    const list = target.allNamespaces
      ? await core.listPodForAllNamespaces({ labelSelector })
      : await core.listNamespacedPod({ namespace: target.namespace, labelSelector });
    const started = (pod: V1Pod) => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
    return list.items.sort(
      (a, b) => started(a) - started(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
  } catch (error) {
    const namespace = target.allNamespaces ? undefined : target.namespace;
    throw new PodsFailed(describeApiError(error, { verb: "list", resource: "pods", namespace }, target));
  }
}

/**
 * Why there are no pods: undefined when the service (and revision) exist (scaled to zero, or not
 * started yet), otherwise which is unknown, naming the known ones.
 */
export async function unknownTarget(target: ClusterTarget, wanted: PodsWanted): Promise<string | undefined> {
  if (wanted.service === undefined || target.allNamespaces) return undefined;
  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  const namespace = target.namespace;
  const check = async (plural: "services" | "revisions", name: string, labelSelector?: string) => {
    const where = { group: target.group, version: "v1", namespace, plural };
    const resource = `${plural}.${target.group}`;
    try {
      await api.getNamespacedCustomObject({ ...where, name });
      return undefined;
    } catch (error) {
      if (!isStatus(error, 404) || statusBody(error)?.details?.name === undefined)
        throw new PodsFailed(describeApiError(error, { verb: "get", resource, namespace }, target));
    }
    let known: string[] = [];
    try {
      const list = (await api.listNamespacedCustomObject({ ...where, labelSelector })) as {
        items: { metadata: { name?: string } }[];
      };
      known = list.items.flatMap((item) => item.metadata.name ?? []);
    } catch {
      // Listing is only to help; the answer stands without it.
    }
    const what = plural === "services" ? `service ${name}` : `revision ${name} of service ${wanted.service}`;
    const others = known.length > 0 ? ` (there: ${known.join(", ")})` : "";
    return `no ${what} in namespace ${namespace}${others}`;
  };
  const service = await check("services", wanted.service);
  if (service !== undefined || wanted.revision === undefined) return service;
  return check("revisions", wanted.revision, `${LABEL.service}=${wanted.service}`);
}

/**
 * The container to read in `pod`: the one named `wanted`, else the serving container
 * (user-container, or the first that is not the queue-proxy).
 */
export function containerOf(pod: V1Pod, wanted: string | undefined): string | undefined {
  const names = pod.spec?.containers.map((container) => container.name) ?? [];
  if (wanted !== undefined) return names.includes(wanted) ? wanted : undefined;
  if (names.includes(USER_CONTAINER)) return USER_CONTAINER;
  return names.find((name) => name !== QUEUE_PROXY_CONTAINER);
}
