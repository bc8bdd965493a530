import { type Dispatcher, request } from "undici";
import { binaryHeaders, type StoredEvent } from "../cloudevent/event.ts";
import { hasCloudEvent, parseHttpEvent } from "../cloudevent/parse-http.ts";
import type { Target } from "../resources/compile.ts";
import { replyInTrace, traceDelivery } from "../tracing.ts";
import { ERROR_DATA_BYTES } from "./dead-letter.ts";

// One delivery attempt: the event in binary mode to a subscriber (or a dead-letter sink), and
// what came back. Only a 2xx is a success, as Knative's dispatcher counts it. A failure says
// whether trying again may help, as Knative decides (pkg/kncloudevents SelectiveRetry): no
// answer (refused, reset, timed out), a 5xx, 404, 408, 409 or 429 may pass; any other status
// will not, and goes straight to the dead-letter sink. A 2xx that says it carries a CloudEvent
// (ce- headers or a structured content type) but does not hold a valid one fails the delivery,
// not to be retried (Knative dead-letters it too); a 2xx body that is no CloudEvent is
// discarded unread, whatever its size.

export type SendResult =
  | { ok: true; status: number; reply: { event: StoredEvent } | undefined }
  | { ok: false; status?: number; error?: string; body?: Uint8Array; retryable: boolean };

export interface SendOptions {
  agent: Dispatcher;
  timeoutMs: number;
  /** The largest reply event read; a bigger one fails the delivery. */
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
    return { ok: false, error: message, retryable: true };
  }
  const status = response.statusCode;
  const ok = status >= 200 && status <= 299;
  const replyHeaders = response.headers as Record<string, string | string[] | undefined>;
  if (ok && !hasCloudEvent(replyHeaders)) {
    // undici reads a small one to keep the connection, and closes it for a big one.
    await response.body.dump().catch(() => {});
    trace.end(status);
    return { ok: true, status, reply: undefined };
  }
  let body: Uint8Array;
  try {
    // A failure's body is kept for the dead letter only as far as Knative sends it on.
    body = await readLimited(response.body, ok ? options.maxReplyBytes : ERROR_DATA_BYTES, !ok);
  } catch (error) {
    const message = `reply event: ${(error as Error).message}`;
    trace.end(status, message);
    return { ok: false, status, error: message, retryable: false };
  }
  trace.end(status);
  if (!ok) return { ok: false, status, body, retryable: retryableStatus(status) };
  const reply = parseHttpEvent(replyHeaders, body);
  if ("problem" in reply)
    return {
      ok: false,
      status,
      error: `the reply is not a valid CloudEvent: ${reply.problem}`,
      retryable: false,
    };
  // The reply continues the delivery's trace (tracing.ts).
  return { ok: true, status, reply: { event: replyInTrace(reply.event, headers) } };
}

/** Whether another attempt may succeed after this status (Knative's SelectiveRetry). */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** The body, at most `limit` bytes: a longer one is cut there (`truncate`) or refused. */
async function readLimited(
  body: Dispatcher.ResponseData["body"],
  limit: number,
  truncate: boolean,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length > limit) {
      body.destroy();
      if (!truncate) throw new Error(`larger than ${limit} bytes`);
      chunks.push(chunk.subarray(0, limit - size));
      return Buffer.concat(chunks, limit);
    }
    size += chunk.length;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
