import type { Dispatcher } from "undici";
import type { NodeParserBinding } from "./node-parser.ts";
import { EXPIRED, sweepStamp } from "./sweep-stamp.ts";
import { type ConnectionOwner, UpstreamConnection } from "./upstream-connection.ts";
import { type UpstreamDispatch, type UpstreamHandler, UpstreamRequest } from "./upstream-request.ts";

/** undici's dispatch context, which no handler here reads: one object, not one per request. */
const NO_CONTEXT = Object.freeze({});

export interface UpstreamPoolOptions {
  /** Where a request that names no origin goes (the queue-proxy's one app), as undici's Pool. */
  origin?: string;
  /** An idle connection is closed after this (below the next hop's own keep-alive timeout); 0: never. */
  keepAliveTimeoutMs: number;
  /** From the request written to the response head; 0: none (the revision's deadline only). */
  headersTimeoutMs?: number;
  /** Longest silence within a response body; 0: none. */
  bodyTimeoutMs?: number;
  /** A connection not made within this fails its request as undici's connector does (default 10 s; 0: none). */
  connectTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;

/** undici's error codes for the two timeouts, so the Exchange maps them to the same 504s. */
class TimeoutError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** One origin's connections: idle ones reused newest first, a new one when none is idle. */
class OriginPool implements ConnectionOwner {
  readonly host: string;
  readonly port: number;
  readonly socketPath: string | undefined;
  readonly idle: UpstreamConnection[] = [];
  readonly all = new Set<UpstreamConnection>();

  constructor(host: string, port: number, socketPath: string | undefined) {
    this.host = host;
    this.port = port;
    this.socketPath = socketPath;
  }

  release(connection: UpstreamConnection): void {
    if (this.all.has(connection)) this.idle.push(connection);
  }

  remove(connection: UpstreamConnection): void {
    if (!this.all.delete(connection)) return;
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
  }
}

/**
 * The raw path's upstream side: keep-alive connection pools per origin on raw sockets, with
 * undici's dispatch interface (dispatch(options, handler), close()) so the Exchange drives either.
 * Timeouts are swept, not armed per request.
 */
export class UpstreamPool {
  readonly #binding: NodeParserBinding;
  readonly #options: UpstreamPoolOptions;
  readonly #origins = new Map<string, OriginPool>();
  readonly #sweep: NodeJS.Timeout;
  readonly #sweepMs: number;

  constructor(binding: NodeParserBinding, options: UpstreamPoolOptions) {
    this.#binding = binding;
    this.#options = options;
    const timeouts = [
      options.keepAliveTimeoutMs,
      options.headersTimeoutMs ?? 0,
      options.bodyTimeoutMs ?? 0,
      options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    ];
    const shortest = Math.min(...timeouts.filter((ms) => ms > 0));
    this.#sweepMs = Math.max(10, Math.min(500, shortest / 8));
    this.#sweep = setInterval(() => this.#expire(Date.now()), this.#sweepMs);
    this.#sweep.unref();
  }

  dispatch(options: UpstreamDispatch, handler: UpstreamHandler): boolean {
    const request = new UpstreamRequest(options, handler);
    handler.onRequestStart?.(request, NO_CONTEXT);
    if (request.done) return true;
    const pool = this.#pool(String(options.origin ?? this.#options.origin), options.socketPath);
    let connection = pool.idle.pop();
    if (connection === undefined) {
      connection = new UpstreamConnection(
        pool.host,
        pool.port,
        pool.socketPath,
        this.#binding,
        pool,
        this.#options.keepAliveTimeoutMs,
      );
      pool.all.add(connection);
    }
    connection.send(request);
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    for (const pool of this.#origins.values()) for (const connection of pool.all) connection.close();
  }

  /** Connections open to all origins (for tests and metrics). */
  get connections(): number {
    let count = 0;
    for (const pool of this.#origins.values()) count += pool.all.size;
    return count;
  }

  /** Origins the pool keeps (for tests): one with no connection left goes at the next sweep. */
  get origins(): number {
    return this.#origins.size;
  }

  /** A socket path is its own pool: the same origin reached over TCP and a socket never share one. */
  #pool(origin: string, socketPath: string | undefined): OriginPool {
    const key = socketPath === undefined ? origin : `${origin} ${socketPath}`;
    let pool = this.#origins.get(key);
    if (pool === undefined) {
      const url = new URL(origin);
      pool = new OriginPool(url.hostname.replace(/^\[|\]$/g, ""), Number(url.port || 80), socketPath);
      this.#origins.set(key, pool);
    }
    return pool;
  }

  #expire(now: number): void {
    const { headersTimeoutMs = 0, bodyTimeoutMs = 0 } = this.#options;
    const connectTimeoutMs = this.#options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    for (const [key, pool] of this.#origins) {
      // An origin with no connection left is forgotten (pods come and go: every one ever seen
      // would stay, and be swept, for the process's life); the next request makes it again.
      if (pool.all.size === 0) {
        this.#origins.delete(key);
        continue;
      }
      for (const connection of pool.all) {
        if (connection.connecting) {
          const since = sweepStamp(connection.connectingSince, now, connectTimeoutMs);
          if (since === EXPIRED)
            connection.timedOut(new TimeoutError("UND_ERR_CONNECT_TIMEOUT", "Connect Timeout Error"));
          else connection.connectingSince = since;
          continue;
        }
        const request = connection.current;
        if (request === null) {
          // Stamped a sweep early: closed by the timeout rather than after it, so never at the
          // moment the next hop closes its end (its keep-alive timeout is longer than ours).
          const since = sweepStamp(connection.idleSince, now, connection.keepAliveMs, now - this.#sweepMs);
          if (since === EXPIRED) connection.close();
          else connection.idleSince = since;
        } else if (!request.responding) {
          const since = sweepStamp(request.sentAt, now, headersTimeoutMs);
          if (since === EXPIRED)
            connection.timedOut(new TimeoutError("UND_ERR_HEADERS_TIMEOUT", "Headers Timeout Error"));
          else request.sentAt = since;
        } else if (!request.paused) {
          const since = sweepStamp(request.lastDataAt, now, bodyTimeoutMs);
          if (since === EXPIRED)
            connection.timedOut(new TimeoutError("UND_ERR_BODY_TIMEOUT", "Body Timeout Error"));
          else request.lastDataAt = since;
        }
      }
    }
  }
}

/**
 * The raw pool as the Exchange sees an upstream: undici's dispatch interface, which it implements
 * (the handler's controller is an UpstreamRequest: pause, resume, abort).
 */
export function createRawUpstream(binding: NodeParserBinding, options: UpstreamPoolOptions): Dispatcher {
  return new UpstreamPool(binding, options) as unknown as Dispatcher;
}
