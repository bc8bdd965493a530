import { sameHeaderName } from "../header-name.ts";
import { STATUS_TEXT } from "../status-text.ts";

// The head of a response written to a client on the raw path, framed and worded as node:http's
// ServerResponse does it (byte for byte but the Date): the length when known, else chunked on
// HTTP/1.1, else delimited by the close; no body for HEAD, 204, 304 and 1xx; a Date when the app
// sent none; Connection and Keep-Alive as node writes them.

export type BodyFraming = "length" | "chunked" | "close" | "none";

export interface ClientHead {
  head: string;
  framing: BodyFraming;
  /** The connection stays open for another request after this response. */
  keepAlive: boolean;
}

export interface ClientHeadRequest {
  method: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: number;
  keepAlive: boolean;
}

/** Whether a response with this status to this method has no body whatever its headers say. */
export function bodiless(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

export function clientResponseHead(
  request: ClientHeadRequest,
  status: number,
  reason: string | undefined,
  headers: readonly string[],
  date: string,
  keepAliveSeconds: number,
): ClientHead {
  let hasLength = false;
  let hasDate = false;
  let connection: string | undefined;
  let lines = "";
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (sameHeaderName(name, "content-length")) hasLength = true;
    else if (sameHeaderName(name, "date")) hasDate = true;
    else if (sameHeaderName(name, "connection")) connection = headers[i + 1];
    lines += `${name}: ${headers[i + 1]}\r\n`;
  }
  // node's order and spelling: Date, Connection (and Keep-Alive), then the framing.
  if (!hasDate) lines += `Date: ${date}\r\n`;
  const noBody = bodiless(request.method, status);
  // Without a length an HTTP/1.0 body runs to the close.
  const closeDelimited = !noBody && !hasLength && request.versionMinor === 0;
  // A Connection header of our own (Connection: close while draining) is node's to keep as given.
  const keepAlive =
    request.keepAlive && !closeDelimited && (connection === undefined || !/close/i.test(connection));
  if (connection === undefined)
    lines += keepAlive
      ? `Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n`
      : "Connection: close\r\n";
  let framing: BodyFraming;
  if (noBody) framing = "none";
  else if (hasLength) framing = "length";
  else if (closeDelimited) framing = "close";
  else {
    framing = "chunked";
    lines += "Transfer-Encoding: chunked\r\n";
  }
  return {
    head: `HTTP/1.1 ${status} ${reason ?? STATUS_TEXT[status] ?? "Unknown"}\r\n${lines}\r\n`,
    framing,
    keepAlive,
  };
}

/** The flat list of a header object (sendPlain's form), array values as repeated lines. */
export function flattenHeaders(headers: Record<string, string | number | readonly string[]>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === "object") for (const item of value) out.push(name, item);
    else out.push(name, String(value));
  }
  return out;
}

let cachedDate = "";

function forgetDate(): void {
  cachedDate = "";
}

/** The IMF-fixdate for now, made at most once per second (as node does): no clock read per response. */
export function httpDate(): string {
  if (cachedDate === "") {
    const now = new Date();
    cachedDate = now.toUTCString();
    setTimeout(forgetDate, 1000 - now.getMilliseconds()).unref();
  }
  return cachedDate;
}
