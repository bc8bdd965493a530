import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { isHopByHop, isPlainConnectionValue } from "./hop-by-hop.ts";

/** What a proxy needs to know about an incoming request, learned in one pass over its headers. */
export interface RequestHeaderFacts {
  /** The request carries a body (content-length > 0 or a transfer-encoding). */
  hasBody: boolean;
  /** Value of K-Network-Probe, if present (health probes from the activator). */
  networkProbe: string | undefined;
  /** The request came through the activator (K-Proxy-Request). */
  proxied: boolean;
}

/**
 * Copies the end-to-end headers of `raw` (node's rawHeaders, or an HTTP/2 compat request's) into
 * `out` and reports the facts above. HTTP/2 pseudo-headers are dropped, with :authority becoming
 * Host; `te: trailers` survives because gRPC needs it end to end.
 */
export function scanRequestHeaders(raw: readonly string[], out: string[]): RequestHeaderFacts {
  const facts: RequestHeaderFacts = { hasBody: false, networkProbe: undefined, proxied: false };
  let connectionNamed: string[] | undefined;
  let sawHost = false;
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    if (lower.charCodeAt(0) === 58 /* ':' */) {
      if (lower === ":authority") authority = value;
      continue;
    }
    if (isHopByHop(lower)) {
      if (lower === "transfer-encoding") facts.hasBody = true;
      else if (lower === "connection" && !isPlainConnectionValue(value))
        connectionNamed = value.toLowerCase().split(",");
      else if (lower === "te" && value.trim().toLowerCase() === "trailers") out.push(name, value);
      continue;
    }
    switch (lower) {
      case "content-length":
        if (value !== "0") facts.hasBody = true;
        break;
      case "host":
        sawHost = true;
        break;
      case "k-network-probe":
        facts.networkProbe = value;
        break;
      case "k-proxy-request":
        facts.proxied = true;
        break;
    }
    out.push(name, value);
  }
  if (!sawHost && authority !== undefined) out.push("host", authority);
  if (connectionNamed !== undefined) removeConnectionNamed(out, connectionNamed);
  return facts;
}

/** Rare path: drop headers the client listed in Connection (e.g. "Connection: close, X-Secret"). */
function removeConnectionNamed(out: string[], named: string[]): void {
  const drop = new Set(named.map((token) => token.trim()).filter((token) => token !== ""));
  let write = 0;
  for (let read = 0; read < out.length; read += 2) {
    if (drop.has(out[read].toLowerCase())) continue;
    out[write++] = out[read];
    out[write++] = out[read + 1];
  }
  out.length = write;
}

/**
 * Whether to stream a body upstream. HTTP/2 needs no length or chunking to send one: its absence
 * shows as END_STREAM on the headers.
 */
export function requestHasBody(req: IncomingMessage, facts: RequestHeaderFacts): boolean {
  if (req.httpVersionMajor === 2) return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  return facts.hasBody;
}
