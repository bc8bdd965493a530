// What any one client may hold on a listener: time to send headers, idle keep-alive, connections,
// header bytes, HTTP/2 streams and session idle time. One typed set per component, read from its
// environment with the component's prefix, applied to every listener it opens.
import type { ServerOptions as Http1Options, Server as HttpServer } from "node:http";
import type { ServerOptions as Http2Options, Http2SecureServer } from "node:http2";
import type { EnvReader } from "../env.ts";

export interface ListenerLimits {
  /** From a connection's first byte (or a request's) to its complete headers; also the sniff timeout. */
  headersTimeoutMs: number;
  /** An HTTP/1.1 connection idle between requests is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections at once; more are refused (logged once per burst). 0 = no cap. */
  maxConnections: number;
  /** Request head size (HTTP/1.1 431) and HTTP/2 header list size; also bounds upgrade answers. */
  maxHeaderBytes: number;
  /** Streams one HTTP/2 session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  h2MaxConcurrentStreams: number;
  /** An HTTP/2 session with no open stream for this long is closed (GOAWAY). */
  h2IdleTimeoutMs: number;
  /** node's per-session memory budget (MB): buffered data, header tables, unacknowledged frames. */
  h2MaxSessionMemoryMb: number;
}

export const DEFAULT_LIMITS: Readonly<ListenerLimits> = {
  headersTimeoutMs: 10_000,
  // Above the 4 s keep-alive of the data plane's own upstream pools, so a pool closes first.
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxHeaderBytes: 16 * 1024,
  // Go's http2 server default; undici opens at most 100 streams per session anyway.
  h2MaxConcurrentStreams: 250,
  h2IdleTimeoutMs: 60_000,
  // The router multiplexes all of a pod's gRPC traffic over one session.
  h2MaxSessionMemoryMb: 64,
};

/** Admin ports serve probes, scrapes and the odd operator: a small cap is plenty. */
export const ADMIN_MAX_CONNECTIONS = 256;

/**
 * HTTP/2 flood protections (settings, ping, reset and invalid-frame floods). Fixed: they bound
 * abuse, not legitimate traffic, so no deployment needs to tune them.
 */
const H2_FLOOD_LIMITS = {
  maxSettings: 16, // entries per SETTINGS frame; HTTP/2 defines 7
  maxOutstandingPings: 10,
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
  maxHeaderListPairs: 256,
  // Rapid reset (CVE-2023-44487): a token bucket of stream resets per session.
  streamResetBurst: 1000,
  streamResetRate: 33,
} as const;

/**
 * Reads `{PREFIX}_HEADERS_TIMEOUT_SECONDS`, `_KEEP_ALIVE_TIMEOUT_SECONDS`, `_MAX_CONNECTIONS`,
 * `_MAX_HEADER_BYTES`, `_H2_MAX_CONCURRENT_STREAMS`, `_H2_IDLE_TIMEOUT_SECONDS` and
 * `_H2_MAX_SESSION_MEMORY_MB` (e.g. ROUTER_MAX_CONNECTIONS).
 */
export function readListenerLimits(
  env: EnvReader,
  prefix: string,
  defaults: Readonly<ListenerLimits> = DEFAULT_LIMITS,
): ListenerLimits {
  const seconds = (name: string, fallbackMs: number, min: number, max: number) =>
    env.number(`${prefix}_${name}`, fallbackMs / 1000, { min, max }) * 1000;
  return {
    headersTimeoutMs: seconds("HEADERS_TIMEOUT_SECONDS", defaults.headersTimeoutMs, 0.1, 600),
    keepAliveTimeoutMs: seconds("KEEP_ALIVE_TIMEOUT_SECONDS", defaults.keepAliveTimeoutMs, 0.1, 3600),
    maxConnections: env.int(`${prefix}_MAX_CONNECTIONS`, defaults.maxConnections, {
      min: 0,
      max: 10_000_000,
    }),
    maxHeaderBytes: env.int(`${prefix}_MAX_HEADER_BYTES`, defaults.maxHeaderBytes, {
      min: 1024,
      max: 1024 * 1024,
    }),
    h2MaxConcurrentStreams: env.int(`${prefix}_H2_MAX_CONCURRENT_STREAMS`, defaults.h2MaxConcurrentStreams, {
      min: 1,
      max: 1_000_000,
    }),
    h2IdleTimeoutMs: seconds("H2_IDLE_TIMEOUT_SECONDS", defaults.h2IdleTimeoutMs, 0.1, 86_400),
    h2MaxSessionMemoryMb: env.int(`${prefix}_H2_MAX_SESSION_MEMORY_MB`, defaults.h2MaxSessionMemoryMb, {
      min: 1,
      max: 4096,
    }),
  };
}

/** The same limits with the admin ports' connection cap. */
export function adminLimits(limits: ListenerLimits): ListenerLimits {
  const cap =
    limits.maxConnections === 0
      ? ADMIN_MAX_CONNECTIONS
      : Math.min(limits.maxConnections, ADMIN_MAX_CONNECTIONS);
  return { ...limits, maxConnections: cap };
}

/**
 * node:http's settings for these limits. No request timeout: a request's whole time is bounded
 * by its revision's timeout (the deadline sweep), never by node's 300 s default.
 */
export function http1Options(limits: ListenerLimits): Http1Options {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // node checks header timeouts on this interval (default 30 s, far coarser than the timeout).
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs / 2),
  };
}

/**
 * Applies the HTTP/1.1 limits to a server already made, for the TLS server's HTTP/1.1 side
 * (createSecureServer takes no HTTP/1 options but reads these properties per connection and,
 * the checking interval, on 'listening').
 */
export function applyHttp1Limits(server: HttpServer | Http2SecureServer, limits: ListenerLimits): void {
  Object.assign(server, http1Options(limits));
}

/** node:http2's settings for these limits, the flood protections included. */
export function http2Options(limits: ListenerLimits): Http2Options {
  return {
    ...H2_FLOOD_LIMITS,
    maxSessionMemory: limits.h2MaxSessionMemoryMb,
    settings: {
      maxConcurrentStreams: limits.h2MaxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
    },
  };
}
