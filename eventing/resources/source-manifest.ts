import { z } from "zod";
import { delivery, destination, dnsLabel, kReference, objectMeta, stringMap } from "./manifest.ts";

// Knative's event sources as zod schemas, strict like Broker and Trigger (an unknown field is an
// error with its path): KafkaSource (sources.knative.dev/v1 and v1beta1, the same shape),
// PingSource and SinkBinding (sources.knative.dev/v1), GitHubSource
// (sources.knative.dev/v1alpha1), and sluice's own NatsSource (sources.sluice.dev/v1) in the same
// style. Fields Knative has that sluice does not act on are accepted so real manifests load;
// validate-sources.ts says which values are refused and why.

export const SOURCES_API = "sources.knative.dev";
export const SLUICE_SOURCES_API = "sources.sluice.dev/v1";

const anything = z.unknown();

/** duckv1.CloudEventOverrides: extensions set on every event the source sends. */
const ceOverrides = z.strictObject({ extensions: stringMap.optional() });

/** corev1.SecretKeySelector. */
const secretKeySelector = z.strictObject({
  name: dnsLabel,
  key: z.string().min(1),
  optional: z.boolean().optional(),
});
const secretValueFrom = z.strictObject({ secretKeyRef: secretKeySelector.optional() });

/** Knative's KafkaAuthSpec `net`: SASL and TLS, each with an `enable` switch. */
const kafkaNet = z.strictObject({
  sasl: z
    .strictObject({
      enable: z.boolean().optional(),
      user: secretValueFrom.optional(),
      password: secretValueFrom.optional(),
      type: secretValueFrom.optional(),
    })
    .optional(),
  tls: z
    .strictObject({
      enable: z.boolean().optional(),
      cert: secretValueFrom.optional(),
      key: secretValueFrom.optional(),
      caCert: secretValueFrom.optional(),
    })
    .optional(),
});

const meta = { metadata: objectMeta, status: anything.optional() };
const sourceSpec = { sink: destination, ceOverrides: ceOverrides.optional() };

export const kafkaSourceSchema = z.strictObject({
  apiVersion: z.enum(["sources.knative.dev/v1", "sources.knative.dev/v1beta1"]),
  kind: z.literal("KafkaSource"),
  ...meta,
  spec: z.strictObject({
    bootstrapServers: z.array(z.string()),
    topics: z.array(z.string()),
    consumerGroup: z.string().optional(),
    consumers: z.number().int().min(1).optional(),
    initialOffset: z.enum(["earliest", "latest"]).optional(),
    ordering: z.enum(["ordered", "unordered"]).optional(),
    delivery: delivery.optional(),
    net: kafkaNet.optional(),
    ...sourceSpec,
  }),
});

export const pingSourceSchema = z.strictObject({
  apiVersion: z.literal("sources.knative.dev/v1"),
  kind: z.literal("PingSource"),
  ...meta,
  spec: z.strictObject({
    schedule: z.string().min(1),
    timezone: z.string().optional(),
    contentType: z.string().optional(),
    data: z.string().optional(),
    dataBase64: z.string().optional(),
    ...sourceSpec,
  }),
});

export const gitHubSourceSchema = z.strictObject({
  apiVersion: z.literal("sources.knative.dev/v1alpha1"),
  kind: z.literal("GitHubSource"),
  ...meta,
  spec: z.strictObject({
    ownerAndRepository: z.string().min(1),
    eventTypes: z.array(z.string()).min(1, "needs at least one event type"),
    accessToken: secretValueFrom.optional(),
    secretToken: secretValueFrom,
    githubAPIURL: z.string().optional(),
    secure: z.boolean().optional(),
    serviceAccountName: z.string().optional(),
    ...sourceSpec,
  }),
});

export const natsSourceSchema = z.strictObject({
  apiVersion: z.literal(SLUICE_SOURCES_API),
  kind: z.literal("NatsSource"),
  ...meta,
  spec: z.strictObject({
    /** nats:// URLs; none = the eventing process's own NATS_URL. */
    servers: z.array(z.string()).optional(),
    subject: z.string().min(1),
    queueGroup: z.string().optional(),
    delivery: delivery.optional(),
    ...sourceSpec,
  }),
});

export const sinkBindingSchema = z.strictObject({
  apiVersion: z.literal("sources.knative.dev/v1"),
  kind: z.literal("SinkBinding"),
  ...meta,
  spec: z.strictObject({
    subject: kReference.extend({
      apiVersion: z.string().min(1),
      name: dnsLabel.optional(),
      selector: z
        .strictObject({ matchLabels: stringMap.optional(), matchExpressions: anything.optional() })
        .optional(),
    }),
    ...sourceSpec,
  }),
});

export type KafkaSourceManifest = z.infer<typeof kafkaSourceSchema>;
export type PingSourceManifest = z.infer<typeof pingSourceSchema>;
export type GitHubSourceManifest = z.infer<typeof gitHubSourceSchema>;
export type NatsSourceManifest = z.infer<typeof natsSourceSchema>;
export type SinkBindingManifest = z.infer<typeof sinkBindingSchema>;
export type SourceManifest =
  | KafkaSourceManifest
  | PingSourceManifest
  | GitHubSourceManifest
  | NatsSourceManifest;
export type SecretKeySelector = z.infer<typeof secretKeySelector>;

/** What each API version serves, by kind. */
export const SOURCE_KINDS: Record<string, Record<string, z.ZodType>> = {
  "sources.knative.dev/v1": {
    KafkaSource: kafkaSourceSchema,
    PingSource: pingSourceSchema,
    SinkBinding: sinkBindingSchema,
  },
  "sources.knative.dev/v1beta1": { KafkaSource: kafkaSourceSchema },
  "sources.knative.dev/v1alpha1": { GitHubSource: gitHubSourceSchema },
  [SLUICE_SOURCES_API]: { NatsSource: natsSourceSchema },
};
