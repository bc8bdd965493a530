import { type Dispatcher, request } from "undici";
import { binaryHeaders, type StoredEvent } from "../cloudevent/event.ts";
import { hasCloudEvent, type Parsed, parseHttpEvent } from "../cloudevent/parse-http.ts";
import type { Target } from "../resources/compile.ts";
import { replyInTrace, traceDelivery } from "../tracing.ts";

// One delivery attempt: the event in binary mode to a subscriber (or a dead-letter sink), and
// what came back. Only a 2xx is a success, as Knative's dispatcher counts it (any other status,
// a refused connection, a reset or a timeout is a failure to retry).

export type SendResult =
  | { ok: true; status: number; reply: Parsed | undefined }
  | { ok: false; status?: number; error?: string; body?: Uint8Array };

export interface SendOptions {
  agent: Dispatcher;
  timeoutMs: number;
  /** The largest reply body read; a bigger reply is an invalid reply event. */
  maxReplyBytes: number;
  /** Names the attempt in its span when traced (the trigger, or the source). */
  traceAttributes?: Record<string, string>;
}

export async function sendEvent(
  target: Target,
  event: StoredEvent,
  options: SendOptions,
): Promise<SendResult> {
  const headers = binaryHeaders(event);
  if (target.host) headers.host = target.host;
  const trace = traceDelivery(event, headers, target.url, options.traceAttributes);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(target.url, {
      method: "POST",
      headers,
      body: event.data ?? "",
      dispatcher: options.agent,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const e = error as Error;
    const message = e.name === "TimeoutError" ? `no response within ${options.timeoutMs} ms` : e.message;
    trace.end(undefined, message);
    return { ok: false, error: message };
  }
  const status = response.statusCode;
  let body: Uint8Array;
  try {
    body = await readLimited(response.body, options.maxReplyBytes);
  } catch (error) {
    trace.end(status, `response body: ${(error as Error).message}`);
    return { ok: false, status, error: `response body: ${(error as Error).message}` };
  }
  trace.end(status);
  if (status < 200 || status > 299) return { ok: false, status, body };
  const replyHeaders = response.headers as Record<string, string | string[] | undefined>;
  const reply = hasCloudEvent(replyHeaders) ? parseHttpEvent(replyHeaders, body) : undefined;
  // The reply continues the delivery's trace (tracing.ts).
  return {
    ok: true,
    status,
    reply: reply && "event" in reply ? { event: replyInTrace(reply.event, headers) } : reply,
  };
}

async function readLimited(body: Dispatcher.ResponseData["body"], limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
