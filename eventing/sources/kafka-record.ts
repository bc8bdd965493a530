import type { StoredEvent } from "../cloudevent/event.ts";
import { parseHttpEvent } from "../cloudevent/parse-http.ts";
import type { KafkaKeyType } from "../resources/compile-sources.ts";
import { withRecordTrace } from "../tracing.ts";

// A Kafka record as the CloudEvent a KafkaSource sends, the way Knative's source data plane
// (eventing-kafka-broker) makes it. A record that already is a CloudEvent in the Kafka protocol
// binding — binary mode (`ce_` headers) or structured mode (content-type
// application/cloudevents+json) — goes on as that event. Any other record is wrapped:
//   id       partition:{p}/offset:{o}
//   type     dev.knative.kafka.event
//   source   /apis/v1/namespaces/{namespace}/kafkasources/{name}#{topic}
//   subject  partition:{p}#{o}
//   time     the record's timestamp
//   key, partitionkey   the record key (read per the key-type label), when there is one
//   kafkaheader{name}   each record header, its name lower-cased and cut to [a-z0-9]
//   datacontenttype     the record's content-type header
// and the record value is the data, byte for byte.

export const KAFKA_EVENT_TYPE = "dev.knative.kafka.event";

export interface KafkaRecordIn {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Uint8Array | null | undefined;
  value: Uint8Array | null | undefined;
  headers: Iterable<[Uint8Array | string, Uint8Array | string]>;
}

export interface KafkaSourceName {
  namespace: string;
  name: string;
  keyType: KafkaKeyType;
}

export function kafkaEventSource(namespace: string, name: string, topic: string): string {
  return `/apis/v1/namespaces/${namespace}/kafkasources/${name}#${topic}`;
}

export function eventOfRecord(record: KafkaRecordIn, source: KafkaSourceName): StoredEvent {
  const headers: [string, string][] = [];
  for (const [k, v] of record.headers) headers.push([text(k), text(v)]);
  const data = record.value && record.value.length > 0 ? record.value : undefined;
  const asCloudEvent = cloudEventOfRecord(headers, data);
  // A `traceparent` record header (OpenTelemetry's Kafka propagation) is the event's trace context.
  if (asCloudEvent) return withRecordTrace(asCloudEvent, headers);

  const { partition, offset } = record;
  const attributes: Record<string, string> = {
    specversion: "1.0",
    id: `partition:${partition}/offset:${offset}`,
    type: KAFKA_EVENT_TYPE,
    source: kafkaEventSource(source.namespace, source.name, record.topic),
    subject: `partition:${partition}#${offset}`,
    time: new Date(Number(record.timestamp)).toISOString(),
  };
  const key = keyOf(record.key, source.keyType);
  if (key !== undefined) {
    attributes.partitionkey = key;
    attributes.key = key;
  }
  for (const [name, value] of headers) {
    if (name.toLowerCase() === "content-type") {
      attributes.datacontenttype = value.toLowerCase();
      continue;
    }
    const cleaned = name.toLowerCase().replace(/[^a-z0-9]/g, "");
    attributes[`kafkaheader${cleaned}`] = value;
  }
  return withRecordTrace({ attributes, data }, headers);
}

/** The record as a CloudEvent of the Kafka binding, or undefined when it is not a valid one. */
function cloudEventOfRecord(
  headers: [string, string][],
  data: Uint8Array | undefined,
): StoredEvent | undefined {
  const contentType = headers.find(([k]) => k.toLowerCase() === "content-type")?.[1];
  if (contentType?.toLowerCase().startsWith("application/cloudevents+json")) {
    const parsed = parseHttpEvent({ "content-type": contentType }, data ?? new Uint8Array());
    return "event" in parsed ? parsed.event : undefined;
  }
  if (!headers.some(([k]) => k === "ce_specversion")) return undefined;
  // Binary mode. Kafka header values are raw UTF-8 (no percent-encoding as in HTTP), so the
  // event is checked in structured form, where values are taken as they are.
  const members: Record<string, string> = {};
  for (const [k, v] of headers) if (k.startsWith("ce_")) members[k.slice(3)] = v;
  if (contentType !== undefined) members.datacontenttype = contentType;
  const json = JSON.stringify({
    ...members,
    data_base64: data ? Buffer.from(data).toString("base64") : undefined,
  });
  const parsed = parseHttpEvent({ "content-type": "application/cloudevents+json" }, Buffer.from(json));
  return "event" in parsed ? { attributes: parsed.event.attributes, data } : undefined;
}

/** Knative's KeyDeserializer: int from 4 bytes, float from 4 or 8, else (and by default) UTF-8. */
export function keyOf(key: Uint8Array | null | undefined, type: KafkaKeyType): string | undefined {
  if (!key || key.length === 0) return undefined;
  const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (type === "int" && bytes.length === 4) return String(bytes.readInt32BE(0));
  if (type === "float" && bytes.length === 4) return String(bytes.readFloatBE(0));
  if (type === "float" && bytes.length === 8) return String(bytes.readDoubleBE(0));
  // A binary extension value is carried as base64 (CloudEvents' Binary type).
  if (type === "byte-array") return bytes.toString("base64");
  return bytes.toString("utf8");
}

function text(value: Uint8Array | string): string {
  return typeof value === "string"
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
}
