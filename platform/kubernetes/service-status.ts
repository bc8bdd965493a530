import type { ServiceManifest } from "../../serving/manifest.ts";
import { type Condition, type ConditionInput, stampConditions, summarise } from "./conditions.ts";
import type { RevisionHealth } from "./revision-status.ts";

/** One entry of status.traffic, as Knative writes it. */
export interface TrafficStatus {
  revisionName: string;
  /** Whether the entry follows the latest ready revision (rather than naming one). */
  latestRevision: boolean;
  percent: number;
  tag?: string;
  /** The tag's own URL. */
  url?: string;
}

export interface ServiceStatus {
  observedGeneration: number;
  conditions: Condition[];
  url?: string;
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
  traffic?: TrafficStatus[];
}

/** What the controller knows about a Service when it writes its status. */
export interface ServiceFacts {
  name: string;
  namespace: string;
  /** metadata.generation of the Service read. */
  generation: number;
  /**
   * Everything sluice's validation (serving/validate.ts, as `sluice validate`) found wrong with this
   * generation, one message each ("path: message"); empty when it is valid. An invalid Service keeps
   * running as last accepted: the other facts are that last accepted state.
   */
  problems: readonly string[];
  latestCreatedRevision?: string;
  latestReadyRevision?: string;
  /** The health of the revisions the Service has (at least those in traffic and the latest). */
  revisions: Readonly<Record<string, RevisionHealth>>;
  /** The traffic being served (statusTraffic()), empty while there is no revision. */
  traffic: readonly TrafficStatus[];
  domain: string;
  scheme?: "http" | "https";
}

function hostUrl(scheme: string, label: string, namespace: string, domain: string): string {
  return `${scheme}://${label}.${namespace}.${domain}`;
}

/**
 * status.traffic for a manifest's spec.traffic: every entry with its revision resolved
 * (`latestRevision` entries, and the default 100 % when traffic is absent, to the latest ready
 * revision, or the latest created one while none is ready, as serving/routes.ts routes them), and
 * a URL per tag. Entries are kept as written (Knative does not merge them). Empty with no revision.
 */
export function statusTraffic(
  manifest: ServiceManifest,
  latest: { created?: string; ready?: string },
  domain: string,
  scheme: "http" | "https" = "http",
): TrafficStatus[] {
  const name = manifest.metadata.name;
  const namespace = manifest.metadata.namespace ?? "default";
  const latestTarget = latest.ready ?? latest.created;
  const entries = manifest.spec.traffic ?? [{ latestRevision: true, percent: 100 }];
  const out: TrafficStatus[] = [];
  for (const entry of entries) {
    const revisionName = entry.revisionName ?? latestTarget;
    if (revisionName === undefined) continue;
    out.push({
      revisionName,
      latestRevision: entry.revisionName === undefined,
      percent: entry.percent ?? 0,
      ...(entry.tag
        ? { tag: entry.tag, url: hostUrl(scheme, `${entry.tag}-${name}`, namespace, domain) }
        : {}),
    });
  }
  return out;
}

function failedMessage(revision: string, health: Extract<RevisionHealth, { state: "failed" }>): string {
  return `Revision "${revision}" failed: ${health.failure.reason}: ${health.failure.message}`;
}

function configurationsReady(facts: ServiceFacts): ConditionInput {
  const type = "ConfigurationsReady";
  if (facts.problems.length > 0)
    return { type, status: "False", reason: "InvalidSpec", message: facts.problems.join("; ") };
  const latest = facts.latestCreatedRevision;
  if (latest === undefined)
    return { type, status: "Unknown", reason: "Deploying", message: "no revision has been created yet" };
  const health = facts.revisions[latest];
  if (health === undefined)
    return { type, status: "Unknown", reason: "Deploying", message: `Revision "${latest}" is being created` };
  if (health.state === "failed")
    return { type, status: "False", reason: "RevisionFailed", message: failedMessage(latest, health) };
  if (health.state === "scaling")
    return { type, status: "Unknown", reason: "Deploying", message: `Revision "${latest}" is not ready yet` };
  return { type, status: "True" };
}

function routesReady(facts: ServiceFacts): ConditionInput {
  const type = "RoutesReady";
  if (facts.traffic.length === 0)
    return { type, status: "Unknown", reason: "Deploying", message: "no revision to route to yet" };
  const routed = facts.traffic.filter((target) => target.percent > 0 || target.tag !== undefined);
  let waiting: ConditionInput | undefined;
  for (const { revisionName } of routed) {
    const health = facts.revisions[revisionName];
    if (health === undefined)
      return {
        type,
        status: "False",
        reason: "RevisionMissing",
        message: `Revision "${revisionName}" referenced in traffic not found`,
      };
    if (health.state === "failed")
      return {
        type,
        status: "False",
        reason: "RevisionFailed",
        message: failedMessage(revisionName, health),
      };
    if (health.state === "scaling")
      waiting ??= {
        type,
        status: "Unknown",
        reason: "RevisionNotReady",
        message: `Revision "${revisionName}" in traffic is not ready yet`,
      };
  }
  return waiting ?? { type, status: "True" };
}

/**
 * The Service's status, Knative-shaped, from what the controller knows: ConfigurationsReady
 * (validation, then the latest created revision), RoutesReady (every revision the traffic reaches),
 * Ready summarising both with the first failure's reason and message. Transition times are kept
 * from `previous` for conditions that did not change.
 */
export function serviceStatus(
  facts: ServiceFacts,
  previous: ServiceStatus | undefined,
  now: Date,
): ServiceStatus {
  const scheme = facts.scheme ?? "http";
  const configurations = configurationsReady(facts);
  const routes = routesReady(facts);
  // Invalid input is the first thing to say, even while the last accepted version runs well.
  const ready =
    facts.problems.length > 0
      ? {
          type: "Ready",
          status: "False" as const,
          reason: configurations.reason,
          message: configurations.message,
        }
      : summarise([configurations, routes]);
  const status: ServiceStatus = {
    observedGeneration: facts.generation,
    conditions: stampConditions([ready, configurations, routes], previous?.conditions, now),
    url: hostUrl(scheme, facts.name, facts.namespace, facts.domain),
  };
  if (facts.latestCreatedRevision !== undefined)
    status.latestCreatedRevisionName = facts.latestCreatedRevision;
  if (facts.latestReadyRevision !== undefined) status.latestReadyRevisionName = facts.latestReadyRevision;
  if (facts.traffic.length > 0) status.traffic = facts.traffic.map((target) => ({ ...target }));
  return status;
}
