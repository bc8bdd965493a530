// The cluster calls of `sluice apply` and `sluice validate` for Eventing documents: the Brokers the
// cluster has (for the Trigger → Broker check), and each document's server-side apply (dry run or
// for real) at the version its file names, in the group of its kind (eventing/kubernetes/kinds.ts).
// A kind the API server does not serve is the chart's Eventing CRDs missing: said with how to fix it.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { kindNamed } from "../../eventing/kubernetes/kinds.ts";
import { ClusterFailed, describeApiError, eventingCrdsMissing, notServed } from "./api-error.ts";
import type { EventingManifest } from "./eventing-check.ts";
import { type ApplyOutcome, type ResourceWhere, serverSideApplyObject } from "./server-apply.ts";
import type { ClusterTarget } from "./target.ts";

/** The group, version (the file's) and plural a manifest is applied at. */
export function eventingResource(manifest: EventingManifest): ResourceWhere {
  const kind = kindNamed(manifest.kind);
  // The loader takes only the kinds of kinds.ts; anything else is a bug here, not bad input.
  if (kind === undefined) throw new Error(`no Eventing kind ${manifest.kind}`);
  const version = manifest.apiVersion.split("/")[1] ?? kind.version;
  return { group: kind.group, version, plural: kind.plural };
}

/** The object sent: the manifest as written, without a status (the eventing component's). */
export function eventingBody(
  manifest: EventingManifest,
): Record<string, unknown> & { metadata: EventingManifest["metadata"] } {
  const { status: _status, ...rest } = manifest;
  return { ...rest };
}

/** The Brokers ("namespace/name") of `namespaces` on the cluster. */
export async function listBrokers(target: ClusterTarget, namespaces: Iterable<string>): Promise<Set<string>> {
  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  const brokers = new Set<string>();
  const where = { group: "eventing.knative.dev", version: "v1", plural: "brokers" };
  for (const namespace of new Set(namespaces)) {
    try {
      const listed = (await api.listNamespacedCustomObject({ ...where, namespace })) as {
        items: { metadata?: { name?: string } }[];
      };
      for (const item of listed.items)
        if (item.metadata?.name) brokers.add(`${namespace}/${item.metadata.name}`);
    } catch (error) {
      const resource = "brokers.eventing.knative.dev";
      throw new ClusterFailed(
        notServed(error)
          ? eventingCrdsMissing(target, resource)
          : describeApiError(error, { verb: "list", resource, namespace }, target),
      );
    }
  }
  return brokers;
}

/**
 * Server-side apply of one Eventing document (its namespace set). Throws the API's error when the
 * server refuses (422, 400: the caller names the document), ClusterFailed for anything else.
 */
export async function applyEventing(
  target: ClusterTarget,
  manifest: EventingManifest,
  dryRun: boolean,
): Promise<ApplyOutcome> {
  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  const resource = eventingResource(manifest);
  try {
    return await serverSideApplyObject(api, resource, eventingBody(manifest), dryRun);
  } catch (error) {
    if (error instanceof ClusterFailed) throw error;
    const name = `${resource.plural}.${resource.group}`;
    if (notServed(error)) throw new ClusterFailed(eventingCrdsMissing(target, name));
    throw error;
  }
}
