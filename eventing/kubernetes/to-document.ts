import type { KubeObject } from "../../platform/kubernetes/informer.ts";
import type { EventingKind } from "./kinds.ts";

// An object as the API server holds it → the document its author wrote, which is what the file
// path's loader and validators check (eventing/resources/). The server adds metadata sluice's
// strict schemas do not take (uid, resourceVersion, managedFields, deletionTimestamp, …) and the
// status sluice itself writes; neither is the author's, so neither may fail validation.

/** Metadata fields an author writes, kept; the server's own are dropped. */
const AUTHORED_METADATA = ["name", "namespace", "labels", "annotations"] as const;
/** kubectl's copy of what was applied: the author's, but large and a copy of the rest. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export interface EventingDocument {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace: string };
  spec?: unknown;
}

export function toDocument(object: KubeObject, kind: EventingKind): EventingDocument {
  const meta = object.metadata ?? {};
  const metadata: Record<string, unknown> = {};
  for (const key of AUTHORED_METADATA) if (meta[key] !== undefined) metadata[key] = meta[key];
  metadata.namespace = meta.namespace ?? "default";
  const annotations = meta.annotations as Record<string, string> | undefined;
  if (annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _, ...rest } = annotations;
    if (Object.keys(rest).length > 0) metadata.annotations = rest;
    else delete metadata.annotations;
  }
  const document: EventingDocument = {
    // The version watched: list items may come without one, and every version has this shape.
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    metadata: metadata as EventingDocument["metadata"],
  };
  if (object.spec !== undefined) document.spec = object.spec;
  return document;
}
