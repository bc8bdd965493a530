import type { StoredEvent } from "../cloudevent/event.ts";

// Loop prevention for replies, as Knative's broker does it: events carry a hop budget in the
// knativebrokerttl extension; each reply published back to the Broker gets one less, and a reply
// whose budget is spent is dropped. A trigger whose subscriber answers every event with an event
// it matches itself would otherwise loop forever. The extension is the Broker's own: it is not
// shown to subscribers.

export const TTL_ATTRIBUTE = "knativebrokerttl";
/** Knative's default budget for an event that arrives without one. */
export const DEFAULT_TTL = 255;

/** The event as a subscriber gets it: without the Broker's hop budget. */
export function forDelivery(event: StoredEvent): StoredEvent {
  if (!(TTL_ATTRIBUTE in event.attributes)) return event;
  const { [TTL_ATTRIBUTE]: _ttl, ...attributes } = event.attributes;
  return { attributes, data: event.data };
}

/** The reply with its hop budget set, or "expired" when the original's budget is spent. */
export function withReplyTtl(original: StoredEvent, reply: StoredEvent): StoredEvent | "expired" {
  const current = Number.parseInt(original.attributes[TTL_ATTRIBUTE] ?? "", 10);
  const ttl = (Number.isFinite(current) ? current : DEFAULT_TTL) - 1;
  if (ttl <= 0) return "expired";
  return { attributes: { ...reply.attributes, [TTL_ATTRIBUTE]: String(ttl) }, data: reply.data };
}

/**
 * What is wrong with an incoming event's hop budget, if anything: the ingress refuses (400) an
 * event whose budget is spent or not a number, as Knative's ingress does for a TTL of 0 or less.
 */
export function ttlProblem(event: StoredEvent): string | undefined {
  const value = event.attributes[TTL_ATTRIBUTE];
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    return `attribute ${TTL_ATTRIBUTE} must be a whole number of hops, not "${value}"`;
  if (Number.parseInt(value, 10) <= 0)
    return `attribute ${TTL_ATTRIBUTE} is ${value}: the event's hop budget is spent (a reply loop?)`;
  return undefined;
}
