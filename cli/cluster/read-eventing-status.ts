// What `sluice status` shows of a cluster's Eventing: its Brokers, Triggers and sources (and
// SinkBindings) with the status eventing's Kubernetes mode writes on them
// (eventing/kubernetes/resource-status.ts), in one namespace or all. A kind the API server does not
// serve (the chart's eventing.enabled off) is left out; none served is "no Eventing here".
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { EVENTING_KINDS, type EventingKind } from "../../eventing/kubernetes/kinds.ts";
import type { ResourceStatus } from "../../eventing/kubernetes/resource-status.ts";
import { apiStatus } from "../../platform/kubernetes/api-status.ts";
import { describeApiError, eventingCrdsMissing, notServed } from "./api-error.ts";
import { listCall, listInScope, ReadFailed } from "./read-status.ts";
import type { ClusterTarget } from "./target.ts";

export interface EventingEntry {
  kind: string;
  namespace: string;
  name: string;
  /** metadata.generation: compared with status.observedGeneration. */
  generation: number;
  /** A Trigger's spec.broker. */
  broker?: string;
  /** As eventing wrote it; undefined before it has. */
  status?: Partial<ResourceStatus>;
}

export interface EventingEntries {
  brokers: EventingEntry[];
  triggers: EventingEntry[];
  /** KafkaSource, PingSource, GitHubSource, NatsSource and SinkBinding, by kind then name. */
  sources: EventingEntry[];
  /** Kinds this user may not list (RBAC), said as the API server refused: the rest is shown. */
  unreadable: string[];
}

/** A kind the user may not list: left out of an answer that was not asked for Eventing. */
interface Forbidden {
  forbidden: string;
}

interface CustomObject {
  metadata: V1ObjectMeta;
  spec?: { broker?: unknown };
  status?: Record<string, unknown>;
}

/** The objects of one kind, or undefined when the API server does not serve it. */
async function list(
  target: ClusterTarget,
  kind: EventingKind,
  required: boolean,
): Promise<CustomObject[] | Forbidden | undefined> {
  const where = { group: kind.group, version: kind.version, plural: kind.plural };
  try {
    return await listInScope<CustomObject>(target, where);
  } catch (error) {
    if (notServed(error)) return undefined;
    const message = describeApiError(error, listCall(target, `${kind.plural}.${kind.group}`), target);
    // Someone allowed to see only Services still gets them.
    if (apiStatus(error) === 403 && !required) return { forbidden: message };
    throw new ReadFailed(message);
  }
}

function entry(kind: string, object: CustomObject, target: ClusterTarget): EventingEntry {
  const broker = object.spec?.broker;
  return {
    kind,
    namespace: object.metadata.namespace ?? target.namespace,
    name: object.metadata.name ?? "",
    generation: object.metadata.generation ?? 0,
    ...(typeof broker === "string" ? { broker } : {}),
    ...(object.status ? { status: object.status as Partial<ResourceStatus> } : {}),
  };
}

const byPlace = (a: EventingEntry, b: EventingEntry) =>
  a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);

/**
 * Every Eventing object of the target's namespace (or all); undefined when no Eventing kind is
 * served. With `required`, that is a ReadFailed saying how to install the CRDs instead.
 */
export async function readEventing(
  target: ClusterTarget,
  required: boolean,
): Promise<EventingEntries | undefined> {
  const listed = await Promise.all(
    EVENTING_KINDS.map(async (kind) => [kind, await list(target, kind, required)] as const),
  );
  const served = listed.filter(([, items]) => items !== undefined);
  if (served.length === 0) {
    if (required) throw new ReadFailed(eventingCrdsMissing(target, "brokers.eventing.knative.dev"));
    return undefined;
  }
  const entries: EventingEntries = { brokers: [], triggers: [], sources: [], unreadable: [] };
  for (const [kind, items] of served) {
    if (items !== undefined && !Array.isArray(items)) {
      entries.unreadable.push(items.forbidden);
      continue;
    }
    const into =
      kind.kind === "Broker" ? entries.brokers : kind.kind === "Trigger" ? entries.triggers : entries.sources;
    for (const object of items ?? []) into.push(entry(kind.kind, object, target));
  }
  entries.brokers.sort(byPlace);
  entries.triggers.sort(byPlace);
  entries.sources.sort(byPlace);
  return entries;
}
