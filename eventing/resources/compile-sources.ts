import { type PingSchedule, parsePingSchedule } from "../sources/ping-schedule.ts";
import {
  type DeliveryPolicy,
  deliveryPolicy,
  type ResolveOptions,
  resolveDestination,
  type Target,
} from "./compile.ts";
import type { Destination } from "./manifest.ts";
import type { SecretKeySelector, SourceManifest } from "./source-manifest.ts";

// Validated source manifests → what eventing/sources/ runs: sinks resolved to a URL (and a
// Host), schedules parsed, defaults filled in. Pure, like compile.ts; it needs the Broker
// ingress's URL for Broker sinks, so main.ts compiles sources once the ingress listens.

export interface SourceOptions extends ResolveOptions {
  /** The Broker ingress (http://host:port): a Broker sink is {ingress}/{namespace}/{broker}. */
  brokerIngressUrl: string;
}

interface SourceBase {
  namespace: string;
  name: string;
  sink: Target;
  /** ceOverrides.extensions: set on every event sent. */
  extensions: Record<string, string>;
}

/** Knative's label (or annotation) choosing how a record key is read. */
export const KAFKA_KEY_TYPE = "kafkasources.sources.knative.dev/key-type";
export type KafkaKeyType = "string" | "int" | "float" | "byte-array";

export interface KafkaSourceRuntime extends SourceBase {
  kind: "KafkaSource";
  bootstrapServers: string[];
  topics: string[];
  consumerGroup: string;
  initialOffset: "earliest" | "latest";
  keyType: KafkaKeyType;
  /** undefined: retry until the sink takes it (see docs/eventing.md, KafkaSource). */
  delivery: DeliveryPolicy | undefined;
}

export interface PingSourceRuntime extends SourceBase {
  kind: "PingSource";
  schedule: PingSchedule;
  contentType: string | undefined;
  data: Uint8Array | undefined;
}

export interface GitHubSourceRuntime extends SourceBase {
  kind: "GitHubSource";
  ownerAndRepository: string;
  eventTypes: ReadonlySet<string>;
  secretToken: SecretKeySelector;
}

export interface NatsSourceRuntime extends SourceBase {
  kind: "NatsSource";
  /** undefined: the eventing process's own NATS connection. */
  servers: string[] | undefined;
  subject: string;
  queueGroup: string | undefined;
  delivery: DeliveryPolicy | undefined;
}

export type SourceRuntime = KafkaSourceRuntime | PingSourceRuntime | GitHubSourceRuntime | NatsSourceRuntime;

/** Assumes validateSources found no problem. */
export function compileSources(sources: readonly SourceManifest[], options: SourceOptions): SourceRuntime[] {
  return sources.map((source) => {
    const namespace = source.metadata.namespace ?? "default";
    const base = {
      namespace,
      name: source.metadata.name,
      sink: resolveSink(source.spec.sink, namespace, options),
      extensions: source.spec.ceOverrides?.extensions ?? {},
    };
    switch (source.kind) {
      case "KafkaSource": {
        const { spec, metadata } = source;
        const keyType = metadata.labels?.[KAFKA_KEY_TYPE] ?? metadata.annotations?.[KAFKA_KEY_TYPE];
        return {
          ...base,
          kind: "KafkaSource",
          bootstrapServers: spec.bootstrapServers.flatMap((s) => s.split(",").map((x) => x.trim())),
          topics: spec.topics,
          // Knative defaults the group to a random UUID stored in the object; sluice keeps no
          // object, so the default is derived from the name: a restart resumes where it was.
          consumerGroup: spec.consumerGroup || `sluice-kafkasource.${namespace}.${source.metadata.name}`,
          initialOffset: spec.initialOffset ?? "latest",
          keyType: isKeyType(keyType) ? keyType : "string",
          delivery: spec.delivery && deliveryPolicy(spec.delivery, namespace, options),
        };
      }
      case "PingSource": {
        const { spec } = source;
        const schedule = parsePingSchedule(spec.schedule, spec.timezone) as PingSchedule;
        const data =
          spec.dataBase64 !== undefined
            ? Buffer.from(spec.dataBase64, "base64")
            : spec.data !== undefined
              ? Buffer.from(spec.data, "utf8")
              : undefined;
        return { ...base, kind: "PingSource", schedule, contentType: spec.contentType, data };
      }
      case "GitHubSource":
        return {
          ...base,
          kind: "GitHubSource",
          ownerAndRepository: source.spec.ownerAndRepository,
          eventTypes: new Set(source.spec.eventTypes),
          secretToken: source.spec.secretToken.secretKeyRef as SecretKeySelector,
        };
      default: // NatsSource, the last kind (the compiler knows)
        return {
          ...base,
          kind: "NatsSource",
          servers: source.spec.servers?.length ? source.spec.servers : undefined,
          subject: source.spec.subject,
          queueGroup: source.spec.queueGroup,
          delivery: source.spec.delivery && deliveryPolicy(source.spec.delivery, namespace, options),
        };
    }
  });
}

/** A sink: a Broker ref → the Broker ingress; a Service ref → the router with its Host; a uri as it is. */
export function resolveSink(dest: Destination, namespace: string, options: SourceOptions): Target {
  if (dest.ref?.kind === "Broker")
    return {
      url: `${options.brokerIngressUrl.replace(/\/$/, "")}/${namespace}/${dest.ref.name}`,
      describe: `Broker ${namespace}/${dest.ref.name}`,
    };
  return resolveDestination(dest, namespace, options);
}

function isKeyType(value: string | undefined): value is KafkaKeyType {
  return value === "string" || value === "int" || value === "float" || value === "byte-array";
}
