import {
  type Condition,
  type ConditionInput,
  stampConditions,
} from "../../platform/kubernetes/conditions.ts";
import type { Target } from "../resources/compile.ts";

// The status sluice writes on each Eventing resource, Knative-shaped: observedGeneration, a Ready
// condition (False with reason InvalidSpec and every problem when validation refused it), and what
// a user looks for — a Broker's status.address.url, a Trigger's subscriberUri, a source's sinkUri.
// Pure: the writer compares the result with what is there and writes only a difference.

export interface ResourceFacts {
  kind: string;
  generation: number | undefined;
  /** Validation's problems ("path: message"); none when the resource is served. */
  problems: readonly string[];
  /** Served, but not fully: Ready False with this reason and message (e.g. not run on Kubernetes). */
  notReady?: { reason: string; message: string };
  /** A Broker's ingress address. */
  address?: string;
  /** A Trigger's resolved subscriber. */
  subscriberUri?: string;
  /** A source's (or SinkBinding's) resolved sink. */
  sinkUri?: string;
}

export interface ResourceStatus {
  observedGeneration?: number;
  conditions: Condition[];
  address?: { url: string };
  subscriberUri?: string;
  sinkUri?: string;
}

/** Where a Target really sends, as a URL a user reads: a Service's own host (not the router's). */
export function targetUri(target: Target): string {
  if (target.host === undefined) return target.url;
  return `http://${target.host}${new URL(target.url).pathname}`;
}

export function resourceStatus(
  facts: ResourceFacts,
  previous: { conditions?: Condition[] } | undefined,
  now: Date,
): ResourceStatus {
  const conditions: ConditionInput[] = [];
  const status: ResourceStatus = { conditions: [] };
  if (facts.generation !== undefined) status.observedGeneration = facts.generation;
  if (facts.problems.length > 0) {
    conditions.push({
      type: "Ready",
      status: "False",
      reason: "InvalidSpec",
      message: facts.problems.join("; "),
    });
  } else {
    if (facts.kind === "Broker" && facts.address !== undefined) {
      status.address = { url: facts.address };
      conditions.push({ type: "Addressable", status: "True" });
    }
    if (facts.subscriberUri !== undefined) status.subscriberUri = facts.subscriberUri;
    if (facts.sinkUri !== undefined) status.sinkUri = facts.sinkUri;
    conditions.push(
      facts.notReady
        ? { type: "Ready", status: "False", ...facts.notReady }
        : { type: "Ready", status: "True" },
    );
  }
  status.conditions = stampConditions(conditions, previous?.conditions, now);
  return status;
}
