import type { ServiceDraft } from "../../serving/draft.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { canonicalJson, type Revision, revisionFor } from "../../serving/revisions.ts";
import { isStatus } from "./api-status.ts";
import type { Condition } from "./conditions.ts";
import type { KubeClient, RevisionCR, ServiceObject } from "./kube-client.ts";
import { revisionHistory, revisionObject } from "./revision-object.ts";
import type { RevisionHealth } from "./revision-status.ts";
import { type ServiceStatus, serviceStatus, statusTraffic, type TrafficStatus } from "./service-status.ts";
import { checkServiceObject } from "./validation.ts";

export interface ServiceReconcileOptions {
  /** Hosts are {service}.{namespace}.{domain} (SLUICE_DOMAIN; default example.com, as locally). */
  domain?: string;
  now?: () => Date;
}

export type ServiceReconcileResult =
  | { outcome: "gone" }
  | { outcome: "invalid"; problems: string[] }
  | {
      outcome: "reconciled";
      revision: string;
      created: boolean;
      /** The Service as a validated Knative manifest: what the autoscaler routes and scales. */
      manifest: ServiceManifest;
      /** Its revisions, oldest first; `readyAt` where the Revision's status says Ready. */
      revisions: (Revision & { readyAt?: number })[];
    };

/** When the Revision object's Ready condition turned True (ms), if it is True. */
function readySince(object: RevisionCR): number | undefined {
  const conditions = (object.status?.conditions ?? []) as Condition[];
  const ready = conditions.find((condition) => condition.type === "Ready" && condition.status === "True");
  if (!ready) return undefined;
  const at = Date.parse(ready.lastTransitionTime ?? "");
  return Number.isNaN(at) ? Date.now() : at;
}

/** What a Revision object's status says of its health (revision-status.ts wrote it). */
export function healthOf(object: RevisionCR): RevisionHealth {
  const conditions = (object.status?.conditions ?? []) as Condition[];
  const ready = conditions.find((condition) => condition.type === "Ready");
  if (ready?.status === "True") return { state: "ready" };
  if (ready?.status === "False") {
    const failed = conditions.find((condition) => condition.type !== "Ready" && condition.status === "False");
    return {
      state: "failed",
      failure: {
        kind: failed?.type === "ResourcesAvailable" ? "unschedulable" : "crash",
        reason: ready.reason ?? "RevisionFailed",
        message: ready.message ?? "",
      },
    };
  }
  return { state: "scaling" };
}

/** The newest revision (by sequence) whose status is Ready. */
function latestReady(
  history: readonly Revision[],
  health: Record<string, RevisionHealth>,
): string | undefined {
  return history.findLast((revision) => health[revision.name]?.state === "ready")?.name;
}

/**
 * Level-triggered reconcile of one Service: validates it (the code of `sluice validate`); an
 * invalid one gets Ready=False with every problem and nothing else changes. A valid one gets the
 * Revision its template calls for (created when new, owned by the Service), and a Knative-shaped
 * status from its Revisions' statuses, written only when it differs from the one there.
 */
export async function reconcileService(
  client: KubeClient,
  namespace: string,
  name: string,
  options: ServiceReconcileOptions = {},
): Promise<ServiceReconcileResult> {
  const domain = options.domain ?? "example.com";
  const now = options.now?.() ?? new Date();
  const object = await client.getService(namespace, name);
  // Gone, or going: owner references let the garbage collector remove what it owned.
  if (!object || object.metadata.deletionTimestamp) return { outcome: "gone" };

  const objects = await client.listRevisions(namespace, name);
  const history = revisionHistory(objects, name);
  const others = (await client.listServices(namespace))
    .filter((other) => other.metadata.name !== name)
    .map(({ status: _status, ...rest }) => rest as ServiceDraft);
  const check = checkServiceObject(
    object as Record<string, unknown>,
    history.map((revision) => revision.name),
    others,
  );
  const health: Record<string, RevisionHealth> = Object.fromEntries(
    objects.filter((o) => o.metadata.name).map((o) => [o.metadata.name as string, healthOf(o)]),
  );
  const previous = object.status as ServiceStatus | undefined;
  const generation = object.metadata.generation ?? 0;

  const found = check.manifest ? revisionFor(check.manifest, history, now.getTime()) : undefined;
  if (!check.manifest || !found || "error" in found) {
    const problems = found && "error" in found ? [found.error] : check.problems;
    // The last accepted state keeps running: its revisions and traffic stay as the status said.
    const status = serviceStatus(
      {
        name,
        namespace,
        generation,
        problems,
        latestCreatedRevision: history.at(-1)?.name,
        latestReadyRevision: latestReady(history, health),
        revisions: health,
        traffic: (previous?.traffic ?? []) as TrafficStatus[],
        domain,
      },
      previous,
      now,
    );
    await writeStatus(client, namespace, name, status);
    return { outcome: "invalid", problems };
  }

  const { revision, created } = found;
  if (created) {
    const uid = object.metadata.uid ?? "";
    try {
      await client.createRevision(revisionObject(revision, { name, uid }, client.group));
    } catch (error) {
      // Made meanwhile (another reconcile of the same key): the next reconcile sees it in the list.
      if (!isStatus(error, 409)) throw error;
    }
  }
  // Just made, it has no status yet: what its status will say until it is reconciled.
  if (created) health[revision.name] ??= { state: "scaling" };
  const revisions = created ? [...history, revision] : history;
  const ready = latestReady(revisions, health);
  const status = serviceStatus(
    {
      name,
      namespace,
      generation,
      problems: [],
      latestCreatedRevision: revisions.at(-1)?.name,
      latestReadyRevision: ready,
      revisions: health,
      traffic: statusTraffic(check.manifest, { created: revisions.at(-1)?.name, ready }, domain),
      domain,
    },
    previous,
    now,
  );
  await writeStatus(client, namespace, name, status);
  const readyAt = new Map(objects.map((o) => [o.metadata.name, readySince(o)]));
  return {
    outcome: "reconciled",
    revision: revision.name,
    created,
    manifest: check.manifest,
    revisions: revisions.map((r) => ({ ...r, readyAt: readyAt.get(r.name) })),
  };
}

/** Writes the status through the status subresource when it differs from the object's (409: re-read). */
async function writeStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  status: ServiceStatus,
): Promise<void> {
  await client.updateServiceStatus(namespace, name, (current: ServiceObject) => {
    if (canonicalJson(current.status ?? {}) === canonicalJson(status)) return undefined;
    return { ...current, status: status as unknown as Record<string, unknown> };
  });
}
