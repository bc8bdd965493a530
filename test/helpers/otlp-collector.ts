// A local OTLP/HTTP collector for tests: records the spans it is sent, in either encoding.
import { createServer, type IncomingHttpHeaders } from "node:http";
import { listen } from "../../common/http/listen.ts";

export type Attributes = Record<string, string | number | boolean>;

/** A span as the collector received it, the same whichever OTLP encoding carried it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Attributes;
  statusCode: number;
  resource: Attributes;
}

export interface Export {
  path: string;
  headers: IncomingHttpHeaders;
}

// OTLP/JSON: ids are hex strings, int64 values may be strings or numbers.
interface JsonAnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue);
  }
  return out;
}

function decodeJson(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString("utf8"));
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = jsonAttributes(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name,
          kind: span.kind,
          attributes: jsonAttributes(span.attributes),
          statusCode: span.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return spans;
}

// OTLP/protobuf, decoded by hand: a message is a list of (field number, value) pairs; varints
// come back as bigint, everything else as bytes. Only the fields these tests read are mapped.
type Fields = Map<number, (bigint | Buffer)[]>;

function decodeMessage(buffer: Buffer): Fields {
  const fields: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buffer[i++];
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  const bytes = (length: number): Buffer => {
    i += length;
    return buffer.subarray(i - length, i);
  };
  while (i < buffer.length) {
    const key = Number(varint());
    const wireType = key & 7;
    let value: bigint | Buffer;
    if (wireType === 0) value = varint();
    else if (wireType === 1) value = bytes(8);
    else if (wireType === 2) value = bytes(Number(varint()));
    else if (wireType === 5) value = bytes(4);
    else throw new Error(`unexpected protobuf wire type ${wireType}`);
    const field = key >>> 3;
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

const messages = (fields: Fields, field: number) =>
  (fields.get(field) ?? []).map((v) => decodeMessage(v as Buffer));
const bytesOf = (fields: Fields, field: number) => fields.get(field)?.[0] as Buffer | undefined;
const numberOf = (fields: Fields, field: number) =>
  Number((fields.get(field)?.[0] as bigint | undefined) ?? 0n);

function protobufAttributes(list: Fields[]): Attributes {
  const out: Attributes = {};
  for (const keyValue of list) {
    const value = messages(keyValue, 2)[0];
    const key = bytesOf(keyValue, 1)!.toString("utf8");
    if (value.has(1)) out[key] = bytesOf(value, 1)!.toString("utf8");
    else if (value.has(2)) out[key] = numberOf(value, 2) === 1;
    else if (value.has(3)) out[key] = numberOf(value, 3);
    else if (value.has(4)) out[key] = bytesOf(value, 4)!.readDoubleLE();
  }
  return out;
}

function decodeProtobuf(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  // ExportTraceServiceRequest.resource_spans = 1
  for (const resourceSpans of messages(decodeMessage(body), 1)) {
    // ResourceSpans.resource = 1 (Resource.attributes = 1), .scope_spans = 2 (ScopeSpans.spans = 2)
    const resource = protobufAttributes(messages(messages(resourceSpans, 1)[0], 1));
    for (const scopeSpans of messages(resourceSpans, 2)) {
      for (const span of messages(scopeSpans, 2)) {
        const parent = bytesOf(span, 4);
        const status = messages(span, 15)[0];
        spans.push({
          traceId: bytesOf(span, 1)!.toString("hex"),
          spanId: bytesOf(span, 2)!.toString("hex"),
          parentSpanId: parent && parent.length > 0 ? parent.toString("hex") : undefined,
          name: bytesOf(span, 5)!.toString("utf8"),
          kind: numberOf(span, 6),
          attributes: protobufAttributes(messages(span, 9)),
          statusCode: status ? numberOf(status, 3) : 0,
          resource,
        });
      }
    }
  }
  return spans;
}

/** A local OTLP/HTTP collector on 127.0.0.1: records what it is sent, answers `status`. */
export async function startCollector(t: { teardown(fn: () => unknown): void }, status = 200) {
  const spans: ReceivedSpan[] = [];
  const exports: Export[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const type = req.headers["content-type"] ?? "";
      const json = type.startsWith("application/json");
      exports.push({ path: req.url ?? "", headers: req.headers });
      if (status === 200 && req.method === "POST" && req.url === "/v1/traces") {
        spans.push(...(json ? decodeJson : decodeProtobuf)(Buffer.concat(chunks)));
      }
      res.writeHead(status, { "content-type": json ? "application/json" : "application/x-protobuf" });
      res.end(json ? "{}" : "");
    });
  });
  const port = await listen(server, 0);
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { endpoint: `http://127.0.0.1:${port}`, spans, exports };
}
