// Server-side apply of one Service (field manager "sluice", forced, as `kubectl apply
// --server-side --force-conflicts` does), or its dry run, and whether it created, changed or left
// the object as it was.
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { isStatus } from "../../platform/kubernetes/api-status.ts";
import type { ServingGroup } from "../../platform/kubernetes/names.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { canonicalJson } from "../../serving/revisions.ts";
import { statusBody } from "./api-error.ts";

export const FIELD_MANAGER = "sluice";

export type ApplyOutcome = "created" | "configured" | "unchanged";

interface Applied {
  metadata?: { labels?: unknown; annotations?: unknown };
  spec?: unknown;
}

/** What a user sees change: the spec, labels and annotations (not managedFields or resourceVersion). */
function visible(object: Applied | undefined): string {
  return canonicalJson({
    spec: object?.spec ?? null,
    labels: object?.metadata?.labels ?? null,
    annotations: object?.metadata?.annotations ?? null,
  });
}

/** The object server-side apply sends: the manifest in `group`, without a status. */
export function applyBody(
  manifest: ServiceManifest,
  group: ServingGroup,
): Record<string, unknown> & { metadata: ServiceManifest["metadata"] } {
  const { status: _status, ...rest } = manifest;
  return { ...rest, apiVersion: `${group}/v1`, kind: "Service" };
}

/**
 * Applies `manifest` into its namespace (already set) with `dryRun` or for real. Throws the API's
 * error (client-node's ApiException) when the server refuses.
 */
export function serverSideApply(
  api: CustomObjectsApi,
  group: ServingGroup,
  manifest: ServiceManifest,
  dryRun: boolean,
): Promise<ApplyOutcome> {
  const where = { group, version: "v1", plural: "services" };
  return serverSideApplyObject(api, where, applyBody(manifest, group), dryRun);
}

/** Where an object of a custom resource lives: its group, the version sent, its plural. */
export interface ResourceWhere {
  group: string;
  version: string;
  plural: string;
}

/**
 * Server-side apply of any custom object (`body` with apiVersion, kind, metadata.name and
 * metadata.namespace set), with `dryRun` or for real; what changed. Throws the API's error.
 */
export async function serverSideApplyObject(
  api: CustomObjectsApi,
  resource: ResourceWhere,
  body: Record<string, unknown> & { metadata: { name: string; namespace?: string } },
  dryRun: boolean,
): Promise<ApplyOutcome> {
  const namespace = body.metadata.namespace ?? "default";
  const name = body.metadata.name;
  const where = { ...resource, namespace };
  let before: Applied | undefined;
  try {
    before = (await api.getNamespacedCustomObject({ ...where, name })) as Applied;
  } catch (error) {
    // An object that is not there (a 404 naming it); a 404 without a name is the CRD missing.
    if (!isStatus(error, 404) || statusBody(error)?.details?.name === undefined) throw error;
  }
  const after = (await api.patchNamespacedCustomObject(
    {
      ...where,
      name,
      body,
      fieldManager: FIELD_MANAGER,
      force: true,
      ...(dryRun ? { dryRun: "All" } : {}),
    },
    setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
  )) as Applied;
  if (before === undefined) return "created";
  return visible(before) === visible(after) ? "unchanged" : "configured";
}
