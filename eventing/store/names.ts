import { createHash } from "node:crypto";

// JetStream names for Eventing's resources. Stream and consumer names may not hold '.', '*',
// '>' or whitespace; namespace, broker and trigger names are DNS labels, so '_' cannot collide
// with anything in them.

export function streamName(namespace: string, broker: string): string {
  return `sluice-broker_${namespace}_${broker}`;
}

export function subjectOf(namespace: string, broker: string): string {
  return `sluice.broker.${namespace}.${broker}`;
}

/** One durable consumer per Trigger, on its Broker's stream. */
export function consumerName(trigger: string): string {
  return `trigger_${trigger}`;
}

/** The trigger a consumer belongs to, or undefined for a consumer sluice did not make. */
export function triggerOfConsumer(name: string): string | undefined {
  return name.startsWith("trigger_") ? name.slice("trigger_".length) : undefined;
}

/**
 * JetStream's de-duplication id: CloudEvents says source + id identify an event, so a producer
 * that retries a POST whose 202 it never saw does not store the event twice (within the
 * stream's duplicate window). Hashed: the id and source are free text of any length.
 */
export function messageId(source: string, id: string): string {
  return createHash("sha256").update(source).update("\0").update(id).digest("base64url");
}
