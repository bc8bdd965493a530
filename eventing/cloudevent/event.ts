import { encodeHeaderValue } from "./header-value.ts";

// The one form an event takes inside sluice, between the ingress, the store and the dispatcher:
// its attributes as strings (the binary-mode form, which every binding can carry) and its data
// as bytes, exactly as the producer sent them. Kept apart from the SDK's CloudEvent class on
// purpose: that class invents a `time` and an `id` when they are missing and re-encodes data.

export interface StoredEvent {
  /** Context attributes and extensions by name; datacontenttype included when known. */
  attributes: Record<string, string>;
  data: Uint8Array | undefined;
}

/** CloudEvents 1.0 attribute names: lower-case letters and digits. */
export const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** Binary mode: `ce-` headers for the attributes, Content-Type for datacontenttype, data as the body. */
export function binaryHeaders(event: StoredEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name === "datacontenttype") headers["content-type"] = value;
    else headers[`ce-${name}`] = encodeHeaderValue(value);
  }
  return headers;
}

export function describeEvent(event: StoredEvent): { id?: string; source?: string; type?: string } {
  return { id: event.attributes.id, source: event.attributes.source, type: event.attributes.type };
}
