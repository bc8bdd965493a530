import { createHash } from "node:crypto";

/**
 * The names, labels and ports the Kubernetes backend gives the objects it creates (DESIGN.md,
 * "Kubernetes"), in one place so the builders and the reconcilers agree on them.
 */

/** The API group sluice serves: its own, or Knative's (a chart value, for clusters without Knative). */
export type ServingGroup = "serving.sluice.dev" | "serving.knative.dev";
export const SLUICE_GROUP: ServingGroup = "serving.sluice.dev";
export const KNATIVE_GROUP: ServingGroup = "serving.knative.dev";

/** Labels sluice always sets (and selects by). */
export const LABEL = {
  service: "serving.sluice.dev/service",
  configuration: "serving.sluice.dev/configuration",
  revision: "serving.sluice.dev/revision",
  namespace: "serving.sluice.dev/namespace",
} as const;

/** Knative's labels, set too when serving serving.knative.dev (so Knative tooling finds the objects). */
export const KNATIVE_LABEL = {
  service: "serving.knative.dev/service",
  serviceUid: "serving.knative.dev/serviceUID",
  configuration: "serving.knative.dev/configuration",
  configurationGeneration: "serving.knative.dev/configurationGeneration",
  revision: "serving.knative.dev/revision",
  revisionUid: "serving.knative.dev/revisionUID",
} as const;

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "sluice" } as const;

/** Annotations on a Revision object that carry what serving/revisions.ts needs back after a restart. */
export const ANNOTATION = {
  templateHash: "serving.sluice.dev/template-hash",
  sequence: "serving.sluice.dev/sequence",
  createdAt: "serving.sluice.dev/created-at",
} as const;

/** The queue-proxy's ports in a pod, as locally (DESIGN.md: 8012/8022/9091). */
export const QUEUE_PORT = { serving: 8012, admin: 8022, metrics: 9091 } as const;
/** Port names (container ports and the revision's headless Service, hence its EndpointSlices). */
export const QUEUE_PORT_NAME = {
  serving: "queue-serving",
  admin: "queue-admin",
  metrics: "queue-metrics",
} as const;

export const QUEUE_PROXY_CONTAINER = "queue-proxy";
/** Knative's name for an unnamed serving container. */
export const USER_CONTAINER = "user-container";
/** Knative's default user port when the container declares none. */
export const DEFAULT_USER_PORT = 8080;

export function deploymentName(revision: string): string {
  return `${revision}-deployment`;
}

/**
 * `{parent}{suffix}` within a DNS label's 63 characters: a longer parent is cut and an md5 of it
 * keeps the name unique (Knative's kmeta.ChildName).
 */
export function childName(parent: string, suffix: string): string {
  if (parent.length + suffix.length <= 63) return parent + suffix;
  const hash = createHash("md5").update(parent).digest("hex");
  return `${parent.slice(0, 63 - suffix.length - hash.length)}${hash}${suffix}`;
}

/**
 * The headless Service whose EndpointSlices list the revision's pods (Knative's `{revision}-private`);
 * a Service name is a DNS label, so a long revision name is shortened.
 */
export function podServiceName(revision: string): string {
  return childName(revision, "-private");
}

/** The HorizontalPodAutoscaler of an hpa-class revision (Knative names it after the revision). */
export function hpaName(revision: string): string {
  return revision;
}

/** The labels of every object that belongs to one revision; the first is what Deployments select by. */
export function revisionLabels(
  group: ServingGroup,
  names: { namespace: string; service: string; revision: string; revisionUid?: string },
): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.revision]: names.revision,
    [LABEL.service]: names.service,
    [LABEL.configuration]: names.service,
    [LABEL.namespace]: names.namespace,
  };
  if (group === KNATIVE_GROUP) {
    labels[KNATIVE_LABEL.service] = names.service;
    labels[KNATIVE_LABEL.configuration] = names.service;
    labels[KNATIVE_LABEL.revision] = names.revision;
    if (names.revisionUid) labels[KNATIVE_LABEL.revisionUid] = names.revisionUid;
  }
  return labels;
}

/** What a Deployment (and the revision's Service) select pods by: immutable, so the revision alone. */
export function revisionSelector(revision: string): Record<string, string> {
  return { [LABEL.revision]: revision };
}

/** A controller owner reference: deleting the owner deletes the object (Kubernetes' garbage collector). */
export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

export function ownerRef(owner: { apiVersion: string; kind: string; name: string; uid: string }): OwnerRef {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The labels of an object the backend makes for a revision (Deployment, pods, private Service,
 * HPA): sluice's management label plus the revision's labels.
 */
export function revisionObjectLabels(
  group: ServingGroup,
  revision: { namespace: string; service: string; name: string },
  revisionUid: string,
): Record<string, string> {
  return {
    ...MANAGED_BY,
    ...revisionLabels(group, {
      namespace: revision.namespace,
      service: revision.service,
      revision: revision.name,
      revisionUid,
    }),
  };
}

/** The metadata of an object owned by a Revision: its name, namespace, labels and owner reference. */
export function revisionChildMetadata(
  name: string,
  group: ServingGroup,
  revision: { namespace: string; service: string; name: string },
  revisionUid: string,
): { name: string; namespace: string; labels: Record<string, string>; ownerReferences: OwnerRef[] } {
  return {
    name,
    namespace: revision.namespace,
    labels: revisionObjectLabels(group, revision, revisionUid),
    ownerReferences: [
      ownerRef({ apiVersion: `${group}/v1`, kind: "Revision", name: revision.name, uid: revisionUid }),
    ],
  };
}
