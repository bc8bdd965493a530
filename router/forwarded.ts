import type { IncomingMessage } from "node:http";
import { sameHeaderName } from "../common/http/header-name.ts";
import { TRUST_NONE, type TrustedProxies } from "./trusted-proxies.ts";

const FORWARDED_FOR = "x-forwarded-for";
const FORWARDED_PROTO = "x-forwarded-proto";
const FORWARDED_HOST = "x-forwarded-host";
const FORWARDED_PREFIX = "x-forwarded-prefix";

/**
 * The X-Forwarded-* headers the router adds to the upstream request (in place in the flat header
 * list). From a peer in the trusted-proxies list (a load balancer in front of the router) its
 * values are kept: the peer's address is appended to X-Forwarded-For, X-Forwarded-Proto and
 * X-Forwarded-Host are set only if absent, and a prefix the router removed is appended to its
 * X-Forwarded-Prefix. From any other peer (the default: trust nobody) the client's values are
 * lies until proven otherwise: all four, and RFC 7239 `Forwarded`, are replaced by what the router
 * saw itself, so an app can believe them.
 */
export function addForwardedHeaders(
  out: string[],
  req: IncomingMessage,
  proto: "http" | "https",
  host: string | undefined,
  prefix: string | undefined,
  trusted: TrustedProxies = TRUST_NONE,
): void {
  const peer = req.socket.remoteAddress ?? "";
  if (!trusted.trusts(peer)) {
    removeForwarded(out);
    out.push(FORWARDED_FOR, peer, FORWARDED_PROTO, proto);
    if (host !== undefined) out.push(FORWARDED_HOST, host);
    if (prefix !== undefined) out.push(FORWARDED_PREFIX, prefix);
    return;
  }
  let sawProto = false;
  let sawHost = false;
  let forwardedFor = -1;
  let forwardedPrefix = -1;
  for (let i = 0; i < out.length; i += 2) {
    const name = out[i];
    if (name.length < 15 || (name.charCodeAt(0) | 0x20) !== 120 /* x */) continue;
    const lower = name.toLowerCase();
    if (lower === FORWARDED_FOR) forwardedFor = i + 1;
    else if (lower === FORWARDED_PROTO) sawProto = true;
    else if (lower === FORWARDED_HOST) sawHost = true;
    else if (lower === FORWARDED_PREFIX) forwardedPrefix = i + 1;
  }
  if (forwardedFor === -1) out.push(FORWARDED_FOR, peer);
  else out[forwardedFor] = `${out[forwardedFor]}, ${peer}`;
  if (!sawProto) out.push(FORWARDED_PROTO, proto);
  if (!sawHost && host !== undefined) out.push(FORWARDED_HOST, host);
  if (prefix !== undefined) {
    // The proxy in front removed its own prefix first: the app's external path is both.
    if (forwardedPrefix === -1) out.push(FORWARDED_PREFIX, prefix);
    else out[forwardedPrefix] = `${out[forwardedPrefix].replace(/\/+$/, "")}${prefix}`;
  }
}

/** Rare path (a client sending its own): drops X-Forwarded-{For,Proto,Host,Prefix} and Forwarded. */
function removeForwarded(out: string[]): void {
  let found = false;
  for (let i = 0; i < out.length && !found; i += 2) found = isForwarded(out[i]);
  if (!found) return;
  let write = 0;
  for (let read = 0; read < out.length; read += 2) {
    if (isForwarded(out[read])) continue;
    out[write++] = out[read];
    out[write++] = out[read + 1];
  }
  out.length = write;
}

function isForwarded(name: string): boolean {
  const first = name.charCodeAt(0) | 0x20;
  if (first === 102 /* f */) return sameHeaderName(name, "forwarded");
  if (first !== 120 /* x */ || name.length < 15) return false;
  const lower = name.toLowerCase();
  return (
    lower === FORWARDED_FOR ||
    lower === FORWARDED_PROTO ||
    lower === FORWARDED_HOST ||
    lower === FORWARDED_PREFIX
  );
}
