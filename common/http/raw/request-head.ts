import { sameHeaderName } from "../header-name.ts";

// The head of a request sent upstream on the raw path, laid out as undici lays it out (host
// first, then connection, the end-to-end headers in order, the framing last), so an app sees the
// same bytes whichever path carried the request.

/** Methods whose request is expected to carry a body: an empty one still says content-length: 0. */
const EXPECTS_PAYLOAD = new Set(["PUT", "POST", "PATCH", "QUERY", "PROPFIND", "PROPPATCH"]);

export interface UpstreamHead {
  head: string;
  /** The body goes chunked (its length was not given). */
  chunked: boolean;
}

/**
 * `headers` is the flat end-to-end list (hop-by-hop already dropped); a content-length in it is
 * the body's length and is written last, as the framing. `hasBody` false: no body whatever the
 * headers say. `defaultHost` is used when the list has no Host.
 */
export function upstreamRequestHead(
  method: string,
  path: string,
  headers: readonly string[],
  hasBody: boolean,
  defaultHost: string,
  /** The body's length when all of it is at hand (a chunked upload that has fully arrived). */
  knownLength?: number,
): UpstreamHead {
  let host: string | undefined;
  let length: string | undefined;
  let lines = "";
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (sameHeaderName(name, "host")) {
      host ??= headers[i + 1];
      continue;
    }
    if (sameHeaderName(name, "content-length")) {
      length = headers[i + 1];
      continue;
    }
    lines += `${name}: ${headers[i + 1]}\r\n`;
  }
  // A HEAD response's framing is the one a broken app most easily gets wrong: its connection is
  // not reused (undici does the same).
  const connection = method === "HEAD" ? "close" : "keep-alive";
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host ?? defaultHost}\r\nconnection: ${connection}\r\n${lines}`;
  if (!hasBody) {
    if (EXPECTS_PAYLOAD.has(method)) head += "content-length: 0\r\n";
    return { head: `${head}\r\n`, chunked: false };
  }
  length ??= knownLength === undefined ? undefined : String(knownLength);
  if (length !== undefined) return { head: `${head}content-length: ${length}\r\n\r\n`, chunked: false };
  return { head: `${head}transfer-encoding: chunked\r\n\r\n`, chunked: true };
}
