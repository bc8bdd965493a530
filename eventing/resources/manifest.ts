import { z } from "zod";

// Knative Eventing's eventing.knative.dev/v1 Broker and Trigger, as zod schemas: strict objects,
// so an unknown field is an error with its path. Fields Knative accepts but sluice does not act
// on yet (TLS CA certs, audiences, the broker class and config) are accepted so that real
// manifests load unchanged; validate.ts says which ones are refused and why.

export const dnsLabel = z
  .string()
  .regex(
    /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "must be a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63 characters",
  );
export const stringMap = z.record(z.string(), z.string());
const anything = z.unknown();

export const objectMeta = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  generation: z.number().int().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: anything.optional(),
  generateName: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: anything.optional(),
  ownerReferences: anything.optional(),
});

/** duckv1.KReference: what a Destination's `ref` names. */
export const kReference = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.string().min(1),
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  group: z.string().optional(),
  address: z.string().optional(),
});

/** duckv1.Destination: a `ref`, a `uri`, or both (then `uri` is a path relative to the ref). */
export const destination = z.strictObject({
  ref: kReference.optional(),
  uri: z.string().min(1).optional(),
  CACerts: z.string().optional(),
  audience: z.string().optional(),
});

/** eventingduckv1.DeliverySpec. */
export const delivery = z.strictObject({
  deadLetterSink: destination.optional(),
  retry: z.number().int().min(0).optional(),
  backoffPolicy: z.enum(["exponential", "linear"]).optional(),
  backoffDelay: z.string().optional(),
  timeout: z.string().optional(),
  retryAfterMax: z.string().optional(),
  format: z.enum(["json", "binary"]).optional(),
});

/**
 * The Subscriptions API filter dialect (CloudEvents Subscriptions API), recursive through all,
 * any and not. Exactly one operator per filter is a semantic check (validate.ts), as in Knative.
 */
export interface SubscriptionsFilter {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: SubscriptionsFilter[];
  any?: SubscriptionsFilter[];
  not?: SubscriptionsFilter;
  cesql?: string;
}
const subscriptionsFilter: z.ZodType<SubscriptionsFilter> = z.lazy(() =>
  z.strictObject({
    exact: stringMap.optional(),
    prefix: stringMap.optional(),
    suffix: stringMap.optional(),
    all: z.array(subscriptionsFilter).optional(),
    any: z.array(subscriptionsFilter).optional(),
    not: subscriptionsFilter.optional(),
    cesql: z.string().optional(),
  }),
);

const apiVersion = z.literal("eventing.knative.dev/v1", { error: 'must be "eventing.knative.dev/v1"' });

export const brokerSchema = z.strictObject({
  apiVersion,
  kind: z.literal("Broker", { error: 'must be "Broker"' }),
  metadata: objectMeta,
  spec: z
    .strictObject({
      config: kReference.extend({ apiVersion: z.string().optional() }).optional(),
      delivery: delivery.optional(),
    })
    .optional(),
  status: anything.optional(),
});

export const triggerSchema = z.strictObject({
  apiVersion,
  kind: z.literal("Trigger", { error: 'must be "Trigger"' }),
  metadata: objectMeta,
  spec: z.strictObject({
    broker: dnsLabel,
    filter: z.strictObject({ attributes: stringMap.optional() }).optional(),
    filters: z.array(subscriptionsFilter).optional(),
    subscriber: destination,
    delivery: delivery.optional(),
  }),
  status: anything.optional(),
});

export type BrokerManifest = z.infer<typeof brokerSchema>;
export type TriggerManifest = z.infer<typeof triggerSchema>;
export type Destination = z.infer<typeof destination>;
export type DeliverySpec = z.infer<typeof delivery>;
export type EventingManifest = BrokerManifest | TriggerManifest;
