import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { HopAuth } from "../hop-auth.ts";
import {
  HOP_AUTH_HEADER,
  INTERNAL_HEADERS,
  isInternalHeader,
  PROBE_HEADER,
  PROXY_HEADER,
} from "../internal-headers.ts";
import { sameHeaderName } from "./header-name.ts";
import { HeaderNameFilter } from "./header-name-filter.ts";
import { HOP_BY_HOP_NAMES, isHopByHop, isPlainConnectionValue } from "./hop-by-hop.ts";
import { RawRequest } from "./raw/raw-request.ts";

/** What a proxy needs to know about an incoming request, learned in one pass over its headers. */
export interface RequestHeaderFacts {
  /** The request carries a body (content-length > 0 or a transfer-encoding). */
  hasBody: boolean;
  /** The request carried the hop secret: it comes from a hop of this installation. */
  fromHop: boolean;
  /** Value of K-Network-Probe (the activator's readiness probe), believed from a hop only. */
  networkProbe: string | undefined;
  /** The request came through the activator (K-Proxy-Request), believed from a hop only. */
  proxied: boolean;
}

/** The names scanRequestHeaders acts on (with HTTP/2's pseudo-headers); every other is copied as it is. */
const SCANNED = new HeaderNameFilter([...HOP_BY_HOP_NAMES, ...INTERNAL_HEADERS, "content-length", "host"]);

/**
 * Copies the end-to-end headers of `raw` (node's rawHeaders, or an HTTP/2 compat request's) into
 * `out` and reports the facts above. HTTP/2 pseudo-headers are dropped, with :authority becoming
 * Host (in place of any Host the request also carried: an intermediary uses :authority, RFC 9113
 * §8.3.1); `te: trailers` survives because gRPC needs it end to end. The data plane's internal
 * headers (internal-headers.ts) are never copied: each hop sets its own. Their facts count only
 * when the request also carries the hop secret that `auth` verifies (no auth: never).
 */
export function scanRequestHeaders(
  raw: readonly string[],
  out: string[],
  auth?: HopAuth,
): RequestHeaderFacts {
  const facts: RequestHeaderFacts = {
    hasBody: false,
    fromHop: false,
    networkProbe: undefined,
    proxied: false,
  };
  let connectionNamed: string[] | undefined;
  let hostAt = -1;
  let authority: string | undefined;
  let probe: string | undefined;
  let proxied = false;
  let hopAuth: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name.charCodeAt(0) !== 58 /* ':' */ && !SCANNED.mayBeOneOf(name)) {
      out.push(name, value);
      continue;
    }
    if (sameHeaderName(name, "host")) {
      // Every request's: found without the lower-case copy and the lookups below.
      hostAt = out.length;
      out.push(name, value);
      continue;
    }
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
    if (isInternalHeader(lower)) {
      if (lower === PROBE_HEADER) probe = value;
      else if (lower === PROXY_HEADER) proxied = true;
      else if (lower === HOP_AUTH_HEADER) hopAuth = value;
      continue;
    }
    if (lower === "content-length" && value !== "0") facts.hasBody = true;
    out.push(name, value);
  }
  if (hopAuth !== undefined && auth?.verify(hopAuth)) {
    facts.fromHop = true;
    facts.networkProbe = probe;
    facts.proxied = proxied;
  }
  if (authority !== undefined) {
    if (hostAt === -1) out.push("host", authority);
    else out[hostAt + 1] = authority;
  }
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

/**
 * One request header's value (lower-case name; repeats joined as node:http joins them), without
 * making a raw request's header object: the data path reads two or three headers of a request's
 * many. A header node:http keeps as an array (set-cookie) reads as absent.
 */
export function requestHeader(req: IncomingMessage | RawRequest, lowerName: string): string | undefined {
  if (req instanceof RawRequest) return req.header(lowerName);
  const value = req.headers[lowerName];
  return typeof value === "string" ? value : undefined;
}
