import type { RetryPolicy } from "../dispatcher/backoff.ts";
import { type EventAttributes, triggerFilter } from "../dispatcher/filter.ts";
import { parseIsoDuration } from "./iso-duration.ts";
import type { BrokerManifest, DeliverySpec, Destination, TriggerManifest } from "./manifest.ts";

// Validated manifests turned into what the ingress and the dispatcher run with: filters
// compiled, durations in milliseconds, subscribers resolved to a URL (and a Host header).
// Pure: no I/O, so a whole new set can be built and swapped in at once.

/** Where events are sent. A sluice Service goes through the router, with the Service's host. */
export interface Target {
  url: string;
  /** The Host header to send (a ref to a Service); undefined for a plain uri. */
  host?: string;
  /** For logs and dead-letter attributes: the uri, or "Service namespace/name". */
  describe: string;
}

export interface DeliveryPolicy extends RetryPolicy {
  /** Per attempt; undefined = the dispatcher's default. */
  timeoutMs: number | undefined;
  deadLetterSink: Target | undefined;
}

export interface BrokerRuntime {
  namespace: string;
  name: string;
}

export interface TriggerRuntime {
  namespace: string;
  name: string;
  broker: string;
  matches: (event: EventAttributes) => boolean;
  /** The filter as written (canonical JSON), so a changed Trigger can be told from an unchanged one. */
  filterSpec: string;
  subscriber: Target;
  delivery: DeliveryPolicy;
}

export interface EventingSet {
  /** By "namespace/name". */
  brokers: Map<string, BrokerRuntime>;
  triggers: TriggerRuntime[];
}

export interface ResolveOptions {
  /** The router's URL (http://host:port): where refs to Services are sent. */
  routerUrl: string;
  /** The cluster domain of Service hosts: {service}.{namespace}.{domain}. */
  domain: string;
}

/**
 * What a Trigger with no delivery spec, on a Broker with none, gets: Knative's shipped
 * config-br-defaults (10 retries, exponential, PT0.2S). A store-backed broker that gave up on
 * the first failure would lose events to every restart of a subscriber.
 */
export const DEFAULT_DELIVERY: DeliverySpec = {
  retry: 10,
  backoffPolicy: "exponential",
  backoffDelay: "PT0.2S",
};

export function brokerKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Assumes validateEventing found no problem. */
export function compileEventing(
  brokers: readonly BrokerManifest[],
  triggers: readonly TriggerManifest[],
  options: ResolveOptions,
): EventingSet {
  const set: EventingSet = { brokers: new Map(), triggers: [] };
  const brokerDelivery = new Map<string, DeliverySpec | undefined>();
  for (const broker of brokers) {
    const namespace = broker.metadata.namespace ?? "default";
    set.brokers.set(brokerKey(namespace, broker.metadata.name), { namespace, name: broker.metadata.name });
    brokerDelivery.set(brokerKey(namespace, broker.metadata.name), broker.spec?.delivery);
  }
  for (const trigger of triggers) {
    const namespace = trigger.metadata.namespace ?? "default";
    const { spec } = trigger;
    // As Knative: the Trigger's delivery spec as a whole when it has one, else the Broker's.
    const delivery =
      spec.delivery ?? brokerDelivery.get(brokerKey(namespace, spec.broker)) ?? DEFAULT_DELIVERY;
    set.triggers.push({
      namespace,
      name: trigger.metadata.name,
      broker: spec.broker,
      matches: triggerFilter(spec.filter, spec.filters),
      filterSpec: JSON.stringify({ filter: spec.filter, filters: spec.filters }),
      subscriber: resolveDestination(spec.subscriber, namespace, options),
      delivery: deliveryPolicy(delivery, namespace, options),
    });
  }
  return set;
}

export function deliveryPolicy(
  delivery: DeliverySpec,
  namespace: string,
  options: ResolveOptions,
): DeliveryPolicy {
  return {
    retry: delivery.retry ?? 0,
    backoffPolicy: delivery.backoffPolicy ?? "exponential",
    backoffDelayMs: parseIsoDuration(delivery.backoffDelay ?? "PT0.2S") ?? 200,
    timeoutMs: delivery.timeout === undefined ? undefined : parseIsoDuration(delivery.timeout),
    deadLetterSink:
      delivery.deadLetterSink && resolveDestination(delivery.deadLetterSink, namespace, options),
  };
}

/** A uri as it is; a ref to a Service → the router, with the Service's host (so it wakes at zero). */
export function resolveDestination(dest: Destination, namespace: string, options: ResolveOptions): Target {
  if (!dest.ref) return { url: dest.uri ?? "", describe: dest.uri ?? "" };
  const name = dest.ref.name;
  return {
    url: `${options.routerUrl.replace(/\/$/, "")}${dest.uri ?? "/"}`,
    host: `${name}.${namespace}.${options.domain}`,
    describe: `Service ${namespace}/${name}`,
  };
}
