import type { V1EnvVar, V1ObjectMeta } from "@kubernetes/client-node";
import { canonicalJson, type Revision } from "../../serving/revisions.ts";
import type { Condition } from "./conditions.ts";
import { type QueueProxyOptions, revisionDeployment } from "./deployment.ts";
import { readyEndpoints } from "./endpoints.ts";
import { revisionHpa } from "./hpa.ts";
import type { KubeClient } from "./kube-client.ts";
import { deploymentName, hpaName, LABEL, podServiceName } from "./names.ts";
import { revisionPodService } from "./pod-service.ts";
import { revisionFromObject } from "./revision-object.ts";
import {
  type RevisionHealth,
  type RevisionStatus,
  revisionHealth,
  revisionStatus,
} from "./revision-status.ts";

export interface RevisionReconcileOptions {
  /** How the installation runs queue-proxies (the sluice image, resources, hop secret). */
  queueProxy: QueueProxyOptions;
  /** What is set over the user containers' environment (a SinkBinding's K_SINK); a change rolls the pods. */
  injectedEnv?: (revision: Revision) => V1EnvVar[];
  now?: () => Date;
}

export type RevisionReconcileResult =
  | { outcome: "gone" }
  | { outcome: "reconciled"; health: RevisionHealth; status: RevisionStatus };

/**
 * Whether `actual` (as the API server returns it: defaulted, empty values left out) already has
 * everything `desired` sets: objects key by key, lists item by item and of the same length,
 * scalars equal. A zero value (false, 0, "", {} or []) matches an absent one, as Go's omitempty
 * drops them. What the server adds beyond `desired` does not count.
 */
export function hasAll(desired: unknown, actual: unknown): boolean {
  if (desired === undefined || desired === null) return true;
  if (Array.isArray(desired)) {
    if (actual === undefined || actual === null) return desired.length === 0;
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((item, i) => hasAll(item, actual[i]))
    );
  }
  if (typeof desired === "object") {
    if (desired instanceof Date) return actual instanceof Date && actual.getTime() === desired.getTime();
    const source = (actual ?? {}) as Record<string, unknown>;
    if (typeof source !== "object") return false;
    return Object.entries(desired).every(([key, value]) => hasAll(value, source[key]));
  }
  if (actual === undefined || actual === null) return desired === false || desired === 0 || desired === "";
  return desired === actual;
}

/** The metadata sluice sets on an object it owns, merged over what others (kubectl, tools) set. */
function mergedMeta(current: V1ObjectMeta | undefined, desired: V1ObjectMeta | undefined): V1ObjectMeta {
  return {
    ...current,
    labels: { ...current?.labels, ...desired?.labels },
    annotations: { ...current?.annotations, ...desired?.annotations },
    ownerReferences: desired?.ownerReferences,
  };
}

function metaDiffers(current: V1ObjectMeta | undefined, desired: V1ObjectMeta | undefined): boolean {
  return (
    !hasAll(desired?.labels, current?.labels) ||
    !hasAll(desired?.annotations, current?.annotations) ||
    !hasAll(desired?.ownerReferences, current?.ownerReferences)
  );
}

/**
 * Level-triggered reconcile of one Revision: its Deployment (created, or updated only where it
 * differs; scaled through the scale subresource when only the replicas do), its `-private`
 * headless Service, its HPA for class hpa; then its status from its pods (ready, failed with the
 * pod's reason, or scaling) and its EndpointSlices (ready pods), written only when it changed.
 * `desiredScale` is the autoscaler's decision; an hpa-class revision's scale is the HPA's.
 */
export async function reconcileRevision(
  client: KubeClient,
  namespace: string,
  name: string,
  desiredScale: number,
  options: RevisionReconcileOptions,
): Promise<RevisionReconcileResult> {
  const now = options.now?.() ?? new Date();
  const object = await client.getRevision(namespace, name);
  if (!object || object.metadata.deletionTimestamp) return { outcome: "gone" };
  const uid = object.metadata.uid ?? "";
  const previous = object.status as RevisionStatus | undefined;
  const revision = revisionFromObject(object);
  if (!revision) {
    // Not one sluice made (no sequence or template hash): say so, touch nothing else.
    const health: RevisionHealth = {
      state: "failed",
      failure: {
        kind: "config",
        reason: "NotManaged",
        message: "this Revision was not created by sluice's controller (no template hash): nothing runs it",
      },
    };
    return writeStatus(client, object.metadata, health, { desired: 0, actual: 0 }, previous, now);
  }

  const hpa = revisionHpa(revision, uid, client.group);
  const built = revisionDeployment({
    revision,
    revisionUid: uid,
    group: client.group,
    replicas: hpa ? undefined : desiredScale,
    queueProxy: options.queueProxy,
    injectedEnv: options.injectedEnv?.(revision),
  });
  if ("problems" in built) {
    const health: RevisionHealth = {
      state: "failed",
      failure: {
        kind: "config",
        reason: "InvalidSpec",
        message: built.problems.map((problem) => `${problem.path}: ${problem.message}`).join("; "),
      },
    };
    return writeStatus(client, object.metadata, health, { desired: 0, actual: 0 }, previous, now);
  }

  // The Deployment.
  const desired = built.deployment;
  const deployName = deploymentName(name);
  let deployment = await client.getDeployment(namespace, deployName);
  if (!deployment) {
    deployment = await client.createDeployment(desired);
  } else {
    const { replicas, ...desiredSpec } = desired.spec ?? { selector: {}, template: {} };
    const { replicas: _replicas, ...actualSpec } = deployment.spec ?? { selector: {}, template: {} };
    if (metaDiffers(deployment.metadata, desired.metadata) || !hasAll(desiredSpec, actualSpec)) {
      deployment =
        (await client.updateDeployment(namespace, deployName, (current) => {
          const { replicas: currentReplicas, ...currentSpec } = current.spec ?? {
            selector: {},
            template: {},
          };
          if (!metaDiffers(current.metadata, desired.metadata) && hasAll(desiredSpec, currentSpec)) {
            // Only replicas may differ now: the scale below deals with them.
            return undefined;
          }
          return {
            ...current,
            metadata: mergedMeta(current.metadata, desired.metadata),
            spec: { ...desiredSpec, replicas: replicas ?? currentReplicas } as typeof desiredSpec,
          };
        })) ?? deployment;
    }
    if (replicas !== undefined && deployment.spec?.replicas !== replicas) {
      await client.scaleDeployment(namespace, deployName, replicas);
      deployment = { ...deployment, spec: { ...(deployment.spec ?? desiredSpec), replicas } };
    }
  }

  // The headless Service whose EndpointSlices list the pods.
  const podService = revisionPodService(revision, uid, client.group);
  const serviceName = podServiceName(name);
  const existingService = await client.getCoreService(namespace, serviceName);
  if (!existingService) await client.createCoreService(podService);
  else if (
    metaDiffers(existingService.metadata, podService.metadata) ||
    !hasAll(podService.spec, existingService.spec)
  ) {
    await client.updateCoreService(namespace, serviceName, (current) => {
      if (!metaDiffers(current.metadata, podService.metadata) && hasAll(podService.spec, current.spec))
        return undefined;
      return {
        ...current,
        metadata: mergedMeta(current.metadata, podService.metadata),
        // clusterIP is immutable and already None: the rest of the spec is sluice's.
        spec: { ...current.spec, ...podService.spec },
      };
    });
  }

  // The HPA of an hpa-class revision.
  if (hpa) {
    const existing = await client.getHpa(namespace, hpaName(name));
    if (!existing) await client.createHpa(hpa);
    else if (metaDiffers(existing.metadata, hpa.metadata) || !hasAll(hpa.spec, existing.spec)) {
      await client.updateHpa(namespace, hpaName(name), (current) => {
        if (!metaDiffers(current.metadata, hpa.metadata) && hasAll(hpa.spec, current.spec)) return undefined;
        return { ...current, metadata: mergedMeta(current.metadata, hpa.metadata), spec: hpa.spec };
      });
    }
  }

  // Status from the pods (health) and the EndpointSlices (ready pods).
  const pods = await client.listPods(namespace, `${LABEL.revision}=${name}`);
  const slices = await client.listEndpointSlices(namespace, serviceName);
  const everReady = ((previous?.conditions ?? []) as Condition[]).some(
    (condition) => condition.type === "Ready" && condition.status === "True",
  );
  const health = revisionHealth(pods, everReady);
  const replicas = {
    desired: hpa ? (deployment.spec?.replicas ?? 0) : desiredScale,
    actual: readyEndpoints(slices).length,
  };
  return writeStatus(client, object.metadata, health, replicas, previous, now);
}

async function writeStatus(
  client: KubeClient,
  metadata: V1ObjectMeta,
  health: RevisionHealth,
  replicas: { desired: number; actual: number },
  previous: RevisionStatus | undefined,
  now: Date,
): Promise<RevisionReconcileResult> {
  const status = revisionStatus(health, replicas, previous, now, metadata.generation);
  await client.updateRevisionStatus(metadata.namespace ?? "default", metadata.name ?? "", (current) => {
    if (canonicalJson(current.status ?? {}) === canonicalJson(status)) return undefined;
    return { ...current, status: status as unknown as Record<string, unknown> };
  });
  return { outcome: "reconciled", health, status };
}
