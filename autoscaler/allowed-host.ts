import { isIPv4 } from "node:net";

/**
 * Which `Host` the autoscaler API answers. A web page the user visits can send requests to
 * 127.0.0.1:8090, and DNS rebinding makes such a page same-origin with it under the attacker's
 * name; the browser still sends that name as `Host`. So only loopback names (which no DNS answer
 * can rebind) and names the operator configured are answered.
 */

/** A Host header: a DNS name, an IPv4 address or a bracketed IPv6 address, then an optional port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/i;

/** The name in a Host header, lower case, IPv6 without brackets; undefined if it is malformed. */
export function hostnameOf(host: string): string | undefined {
  const match = HOST_HEADER.exec(host.trim());
  if (!match) return undefined;
  const name = match[1].toLowerCase();
  return name.startsWith("[") ? name.slice(1, -1) : name;
}

/** localhost, 127.0.0.0/8 or ::1 (a bare name: IPv6 without brackets). */
export function isLoopbackName(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower === "localhost" || lower === "::1" || lower === "0:0:0:0:0:0:0:1") return true;
  return isIPv4(lower) && lower.startsWith("127.");
}

/**
 * Whether the API answers a request with this Host header: loopback names always, the configured
 * names (any port), and anything at all when the configuration holds "*".
 */
export function hostAllowed(host: string | undefined, configured: readonly string[]): boolean {
  if (host === undefined) return false;
  const name = hostnameOf(host);
  if (name === undefined) return false;
  if (isLoopbackName(name)) return true;
  return configured.includes("*") || configured.includes(name);
}
