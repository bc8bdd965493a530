import { type Dispatcher, request } from "undici";
import { binaryHeaders, type StoredEvent } from "../cloudevent/event.ts";
import { hasCloudEvent, type Parsed, parseHttpEvent } from "../cloudevent/parse-http.ts";
import type { Target } from "../resources/compile.ts";

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
}

export async function sendEvent(
  target: Target,
  event: StoredEvent,
  options: SendOptions,
): Promise<SendResult> {
  const headers = binaryHeaders(event);
  if (target.host) headers.host = target.host;
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
    return {
      ok: false,
      error: e.name === "TimeoutError" ? `no response within ${options.timeoutMs} ms` : e.message,
    };
  }
  const status = response.statusCode;
  let body: Uint8Array;
  try {
    body = await readLimited(response.body, options.maxReplyBytes);
  } catch (error) {
    return { ok: false, status, error: `response body: ${(error as Error).message}` };
  }
  if (status < 200 || status > 299) return { ok: false, status, body };
  const replyHeaders = response.headers as Record<string, string | string[] | undefined>;
  return {
    ok: true,
    status,
    reply: hasCloudEvent(replyHeaders) ? parseHttpEvent(replyHeaders, body) : undefined,
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
