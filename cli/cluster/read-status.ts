// What `sluice status` shows of a cluster: its Service objects and their Revisions, with the
// statuses the controller writes (service-status.ts, revision-status.ts), in one namespace or all.
import { CustomObjectsApi, type V1ObjectMeta } from "@kubernetes/client-node";
import { LABEL } from "../../platform/kubernetes/names.ts";
import type { RevisionStatus } from "../../platform/kubernetes/revision-status.ts";
import type { ServiceStatus } from "../../platform/kubernetes/service-status.ts";
import { describeApiError } from "./api-error.ts";
import type { ClusterTarget } from "./target.ts";

export interface RevisionEntry {
  name: string;
  /** As the controller wrote it; undefined before it has. */
  status?: RevisionStatus;
}

export interface ServiceEntry {
  namespace: string;
  name: string;
  /** metadata.generation: compared with status.observedGeneration. */
  generation: number;
  /** As the controller wrote it; undefined before it has. */
  status?: ServiceStatus;
  /** The Service's Revision objects (by the service label), newest first. */
  revisions: RevisionEntry[];
}

/** A failure to read, already described for a person. */
export class ReadFailed extends Error {}

interface CustomObject {
  metadata: V1ObjectMeta;
  status?: Record<string, unknown>;
}

/** The objects of one kind in the target's namespace (or all of them, with -A). */
export async function listInScope<T>(
  target: ClusterTarget,
  where: { group: string; version: string; plural: string },
): Promise<T[]> {
  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  const answer = target.allNamespaces
    ? await api.listClusterCustomObject(where)
    : await api.listNamespacedCustomObject({ ...where, namespace: target.namespace });
  return (answer as { items: T[] }).items;
}

/** What a failed listInScope asked for, as describeApiError names it. */
export function listCall(target: ClusterTarget, resource: string) {
  return { verb: "list", resource, namespace: target.allNamespaces ? undefined : target.namespace };
}

async function list(target: ClusterTarget, plural: "services" | "revisions"): Promise<CustomObject[]> {
  try {
    return await listInScope<CustomObject>(target, { group: target.group, version: "v1", plural });
  } catch (error) {
    throw new ReadFailed(describeApiError(error, listCall(target, `${plural}.${target.group}`), target));
  }
}

function created(object: CustomObject): number {
  return Date.parse(object.metadata.creationTimestamp?.toString() ?? "") || 0;
}

/** Every Service of the target's namespace (or all) with its Revisions, by namespace then name. */
export async function readServices(target: ClusterTarget): Promise<ServiceEntry[]> {
  const [services, revisions] = await Promise.all([list(target, "services"), list(target, "revisions")]);
  const byService = new Map<string, CustomObject[]>();
  for (const revision of revisions) {
    const service = revision.metadata.labels?.[LABEL.service];
    if (service === undefined) continue;
    const key = `${revision.metadata.namespace}/${service}`;
    byService.set(key, [...(byService.get(key) ?? []), revision]);
  }
  return services
    .map((service) => {
      const namespace = service.metadata.namespace ?? target.namespace;
      const name = service.metadata.name ?? "";
      const own = [...(byService.get(`${namespace}/${name}`) ?? [])].sort(
        (a, b) => created(b) - created(a) || (b.metadata.name ?? "").localeCompare(a.metadata.name ?? ""),
      );
      return {
        namespace,
        name,
        generation: service.metadata.generation ?? 0,
        ...(service.status ? { status: service.status as unknown as ServiceStatus } : {}),
        revisions: own.map((revision) => ({
          name: revision.metadata.name ?? "",
          ...(revision.status ? { status: revision.status as unknown as RevisionStatus } : {}),
        })),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
