import type { EventingSnapshot } from "../common/status.ts";
import type { EventingMetrics } from "./metrics.ts";
import type { EventingSet } from "./resources/compile.ts";

// GET /v1/eventing on the admin port: each Broker's address (Knative's status.address.url) and
// each Trigger's counts. What `sluice status` and the autoscaler's GET /v1/status will show.

/** The Brokers and Triggers part of what the autoscaler reads (common/status.ts). */
export type EventingStatus = Pick<EventingSnapshot, "brokers" | "triggers">;

export function eventingStatus(
  set: EventingSet,
  metrics: EventingMetrics,
  ingressUrl: string,
): EventingStatus {
  const count = (key: string) => metrics.counts.get(key) ?? 0;
  return {
    brokers: [...set.brokers.values()].map(({ namespace, name }) => ({
      namespace,
      name,
      address: { url: `${ingressUrl}/${namespace}/${name}` },
    })),
    triggers: set.triggers.map((t) => {
      const key = `${t.namespace}/${t.name}`;
      return {
        namespace: t.namespace,
        name: t.name,
        broker: t.broker,
        subscriber: t.subscriber.describe,
        counts: {
          accepted: count(`trigger ${key} accepted`),
          delivered: count(`trigger ${key} delivered`),
          retried: count(`trigger ${key} retried`),
          deadLettered: count(`trigger ${key} dead_lettered`),
          dropped: count(`trigger ${key} dropped`),
          filtered: count(`trigger ${key} filtered`),
          replies: count(`reply ${key} published`),
        },
      };
    }),
  };
}
