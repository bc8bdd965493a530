import { CloudEvent, ValidationError } from "cloudevents";
import { ATTRIBUTE_NAME, type StoredEvent } from "./event.ts";
import { decodeHeaderValue } from "./header-value.ts";

// An HTTP message (a request to the broker, or a subscriber's reply) as a CloudEvent, in binary
// or structured mode, checked the way a broker must before it stores anything: required
// attributes present, names valid, values as the spec types them (time, source, dataschema),
// the last by the cloudevents SDK's own validator. Every problem comes back as a sentence naming it.

export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;
export type Parsed = { event: StoredEvent } | { problem: string };

const STRUCTURED = "application/cloudevents+json";
const BATCH = "application/cloudevents-batch+json";
const REQUIRED = ["id", "source", "type"] as const;

/** Whether the message carries a CloudEvent at all (a reply may be a plain response). */
export function hasCloudEvent(headers: HttpHeaders): boolean {
  return header(headers, "ce-specversion") !== undefined || mediaType(headers) === STRUCTURED;
}

export function parseHttpEvent(headers: HttpHeaders, body: Uint8Array): Parsed {
  const media = mediaType(headers);
  let parsed: Parsed;
  if (media === BATCH)
    return {
      problem:
        "batched mode (application/cloudevents-batch+json) is not supported: send one event per request",
    };
  if (media === STRUCTURED) parsed = fromStructured(body);
  else if (header(headers, "ce-specversion") !== undefined) parsed = fromBinary(headers, body);
  else
    return {
      problem: `not a CloudEvent: no ce-specversion header (binary mode) and Content-Type is not ${STRUCTURED} (structured mode)`,
    };
  if ("problem" in parsed) return parsed;
  const problem = checkAttributes(parsed.event.attributes);
  return problem === undefined ? parsed : { problem };
}

function fromBinary(headers: HttpHeaders, body: Uint8Array): Parsed {
  const attributes: Record<string, string> = {};
  for (const [key, raw] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (!name.startsWith("ce-") || raw === undefined) continue;
    const attribute = name.slice(3);
    if (!ATTRIBUTE_NAME.test(attribute))
      return {
        problem: `header ${key}: "${attribute}" is not a CloudEvents attribute name (lower-case letters and digits)`,
      };
    attributes[attribute] = decodeHeaderValue(Array.isArray(raw) ? raw.join(",") : raw);
  }
  const contentType = header(headers, "content-type");
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  return { event: { attributes, data: body.length > 0 ? body : undefined } };
}

function fromStructured(body: Uint8Array): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch (error) {
    return { problem: `structured mode: the body is not JSON: ${(error as Error).message}` };
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { problem: "structured mode: the body must be a JSON object" };
  const attributes: Record<string, string> = {};
  let data: Uint8Array | undefined;
  const members = json as Record<string, unknown>;
  for (const [name, value] of Object.entries(members)) {
    if (name === "data" || name === "data_base64" || value === null) continue;
    if (!ATTRIBUTE_NAME.test(name))
      return {
        problem: `structured mode: "${name}" is not a CloudEvents attribute name (lower-case letters and digits)`,
      };
    if (typeof value === "string") attributes[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") attributes[name] = String(value);
    else return { problem: `structured mode: attribute "${name}" must be a string, number or boolean` };
  }
  if (members.data_base64 !== undefined && members.data_base64 !== null) {
    if (members.data !== undefined) return { problem: "structured mode: data and data_base64 are both set" };
    if (typeof members.data_base64 !== "string")
      return { problem: "structured mode: data_base64 must be a string" };
    data = Buffer.from(members.data_base64, "base64");
  } else if (members.data !== undefined && members.data !== null) {
    const contentType = attributes.datacontenttype;
    // JSON data (no content type means JSON) is kept as JSON text; a string under another
    // content type is that text itself.
    if (typeof members.data === "string" && contentType !== undefined && !isJson(contentType))
      data = Buffer.from(members.data, "utf8");
    else {
      data = Buffer.from(JSON.stringify(members.data), "utf8");
      attributes.datacontenttype ??= "application/json";
    }
  }
  return { event: { attributes, data } };
}

function checkAttributes(attributes: Record<string, string>): string | undefined {
  if (attributes.specversion !== "1.0")
    return attributes.specversion === undefined
      ? "required attribute specversion is missing"
      : `specversion "${attributes.specversion}" is not supported: sluice takes CloudEvents 1.0`;
  const missing = REQUIRED.filter((name) => (attributes[name] ?? "") === "");
  if (missing.length > 0)
    return `required attribute${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing or empty`;
  try {
    // The SDK's validator for the typed attributes (time as RFC 3339, source as a URI-reference…).
    // It adds a time of its own when there is none: harmless here, the object is thrown away.
    new CloudEvent({ ...attributes }, true);
  } catch (error) {
    if (error instanceof ValidationError) return `invalid CloudEvent: ${describeValidation(error)}`;
    return `invalid CloudEvent: ${(error as Error).message}`;
  }
  return undefined;
}

function describeValidation(error: ValidationError): string {
  const details = (error.errors ?? [])
    .map((e) =>
      typeof e === "string"
        ? e
        : `${(e as { instancePath?: string }).instancePath?.replace(/^\//, "") || "event"} ${(e as { message?: string }).message ?? ""}`.trim(),
    )
    .filter(Boolean);
  return details.length > 0 ? details.join("; ") : error.message;
}

function isJson(contentType: string): boolean {
  const media = contentType.split(";", 1)[0].trim().toLowerCase();
  return media === "application/json" || media === "text/json" || media.endsWith("+json");
}

function mediaType(headers: HttpHeaders): string | undefined {
  return header(headers, "content-type")?.split(";", 1)[0].trim().toLowerCase();
}

function header(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
