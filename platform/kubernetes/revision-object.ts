import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { RevisionTemplate } from "../../serving/manifest.ts";
import type { Revision } from "../../serving/revisions.ts";
import {
  ANNOTATION,
  KNATIVE_GROUP,
  KNATIVE_LABEL,
  LABEL,
  MANAGED_BY,
  ownerRef,
  type ServingGroup,
  SLUICE_GROUP,
} from "./names.ts";

/** A Revision custom object: its spec is the template's spec, never changed after creation. */
export interface RevisionObject {
  apiVersion: string;
  kind: "Revision";
  metadata: V1ObjectMeta;
  spec: RevisionTemplate["spec"];
  status?: unknown;
}

/** The Service a revision belongs to, as the controller read it. */
export interface ServiceRef {
  name: string;
  uid: string;
}

const OWN_ANNOTATIONS = new Set<string>(Object.values(ANNOTATION));

/**
 * The Revision object for a revision of `service`: the template's labels and annotations, sluice's
 * labels, what serving/revisions.ts needs to find the revision again after a restart (sequence,
 * template hash, creation time) in annotations, and an owner reference to the Service, so deleting
 * the Service deletes its revisions (and, through theirs, their Deployments).
 */
export function revisionObject(
  revision: Revision,
  service: ServiceRef,
  group: ServingGroup = SLUICE_GROUP,
): RevisionObject {
  const meta = revision.template.metadata;
  const labels: Record<string, string> = {
    ...meta?.labels,
    ...MANAGED_BY,
    [LABEL.service]: revision.service,
    [LABEL.configuration]: revision.service,
    [LABEL.namespace]: revision.namespace,
  };
  if (group === KNATIVE_GROUP) {
    labels[KNATIVE_LABEL.service] = revision.service;
    labels[KNATIVE_LABEL.serviceUid] = service.uid;
    labels[KNATIVE_LABEL.configuration] = revision.service;
    labels[KNATIVE_LABEL.configurationGeneration] = String(revision.sequence);
  }
  return {
    apiVersion: `${group}/v1`,
    kind: "Revision",
    metadata: {
      name: revision.name,
      namespace: revision.namespace,
      labels,
      annotations: {
        ...meta?.annotations,
        [ANNOTATION.sequence]: String(revision.sequence),
        [ANNOTATION.templateHash]: revision.templateHash,
        [ANNOTATION.createdAt]: new Date(revision.createdAt).toISOString(),
      },
      ownerReferences: [
        ownerRef({ apiVersion: `${group}/v1`, kind: "Service", name: service.name, uid: service.uid }),
      ],
    },
    spec: revision.template.spec,
  };
}

/**
 * The revision a Revision object records, for the history revisionFor() compares against; undefined
 * for an object sluice did not create (no sequence or hash). The template's own labels and
 * annotations come back without sluice's.
 */
export function revisionFromObject(object: RevisionObject): Revision | undefined {
  const { metadata } = object;
  const annotations = metadata.annotations ?? {};
  const sequence = Number(annotations[ANNOTATION.sequence]);
  const hash = annotations[ANNOTATION.templateHash];
  const service = metadata.labels?.[LABEL.service];
  if (!metadata.name || !service || !hash || !Number.isInteger(sequence) || sequence < 1) return undefined;
  const created = Date.parse(annotations[ANNOTATION.createdAt] ?? String(metadata.creationTimestamp ?? ""));
  const templateAnnotations = Object.fromEntries(
    Object.entries(annotations).filter(([key]) => !OWN_ANNOTATIONS.has(key)),
  );
  const templateLabels = Object.fromEntries(
    Object.entries(metadata.labels ?? {}).filter(([key]) => !isOwnLabel(key)),
  );
  const templateMeta: NonNullable<RevisionTemplate["metadata"]> = {};
  if (Object.keys(templateLabels).length > 0) templateMeta.labels = templateLabels;
  if (Object.keys(templateAnnotations).length > 0) templateMeta.annotations = templateAnnotations;
  return {
    name: metadata.name,
    service,
    namespace: metadata.namespace ?? "default",
    sequence,
    templateHash: hash,
    template: {
      ...(Object.keys(templateMeta).length > 0 ? { metadata: templateMeta } : {}),
      spec: object.spec,
    },
    createdAt: Number.isNaN(created) ? 0 : created,
  };
}

function isOwnLabel(key: string): boolean {
  return (
    key.startsWith("serving.sluice.dev/") ||
    Object.values(KNATIVE_LABEL).includes(key as never) ||
    key in MANAGED_BY
  );
}

/** A service's revisions from its Revision objects, oldest first: the `history` of revisionFor(). */
export function revisionHistory(objects: readonly RevisionObject[], service: string): Revision[] {
  return objects
    .map(revisionFromObject)
    .filter((revision): revision is Revision => revision !== undefined && revision.service === service)
    .sort((a, b) => a.sequence - b.sequence);
}
