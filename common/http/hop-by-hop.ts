// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and must not be forwarded.
// undici also throws on several of them (transfer-encoding, keep-alive, upgrade, expect), so every
// proxying component filters through here.

import { sameHeaderName } from "./header-name.ts";
import { HeaderNameFilter } from "./header-name-filter.ts";

/** The hop-by-hop names, lower case. */
export const HOP_BY_HOP_NAMES: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "transfer-encoding",
  "upgrade",
  "expect",
  "http2-settings",
];

const HOP_BY_HOP = new Set(HOP_BY_HOP_NAMES);

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

/** "keep-alive" and "close", what nearly every peer sends, name no other header. */
export function isPlainConnectionValue(value: string): boolean {
  if (value === "keep-alive" || value === "close") return true; // as nearly every peer spells it
  return (value.length === 10 || value.length === 5) && /^(keep-alive|close)$/i.test(value);
}

/** Lower-case names listed in a Connection header value ("close, X-Foo" → ["close", "x-foo"]). */
function connectionTokens(value: string): Set<string> {
  const tokens = new Set<string>();
  for (const token of value.split(",")) {
    const trimmed = token.trim().toLowerCase();
    if (trimmed !== "") tokens.add(trimmed);
  }
  return tokens;
}

/**
 * Filters a flat raw header list ([name, value, name, value, ...], as node's rawHeaders) down to the
 * end-to-end headers, appending to `out`. Returns `out` so callers can reuse one array.
 */
export function endToEndRawHeaders(raw: readonly string[], out: string[] = []): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (sameHeaderName(raw[i], "connection")) named = connectionTokens(raw[i + 1]);
  }
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** Most names are no hop-by-hop name by their length and first letter, and skip the set's lookup. */
const HOP_BY_HOP_FILTER = new HeaderNameFilter(HOP_BY_HOP_NAMES);

/**
 * Filters a response's flat raw header list (as llhttp framed it) down to the end-to-end headers,
 * appending them to `out` with lower-case names, in the order received: what undici's header
 * object gives the node:http path, without the object. Returns the Content-Length value, if any.
 */
export function endToEndResponseHeaders(raw: readonly string[], out: string[]): string | undefined {
  let named: Set<string> | undefined;
  let length: string | undefined;
  const start = out.length;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (HOP_BY_HOP_FILTER.mayBeOneOf(lower) && HOP_BY_HOP.has(lower)) {
      if (lower === "connection" && !isPlainConnectionValue(value)) {
        named ??= new Set();
        for (const token of connectionTokens(value)) named.add(token);
      }
      continue;
    }
    if (lower.length === 14 && lower === "content-length") length = value;
    out.push(lower, value);
  }
  if (named !== undefined) dropNamed(out, start, named);
  return length;
}

/** Rare path: drops from out[start…] the headers a Connection header named. */
function dropNamed(out: string[], start: number, named: Set<string>): void {
  let write = start;
  for (let read = start; read < out.length; read += 2) {
    if (named.has(out[read])) continue;
    out[write++] = out[read];
    out[write++] = out[read + 1];
  }
  out.length = write;
}

/**
 * Filters a header object with lower-case names (as undici hands responses over) into a flat list
 * for `res.writeHead`. Array values (set-cookie) stay separate lines.
 */
export function endToEndHeaderObject(
  headers: Record<string, string | string[] | undefined>,
  out: string[] = [],
): string[] {
  const connection = headers.connection;
  const named =
    typeof connection === "string" && !isPlainConnectionValue(connection)
      ? connectionTokens(connection)
      : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === "string") out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  return out;
}
