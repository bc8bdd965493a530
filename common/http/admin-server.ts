import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import { Server as NetServer } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log.ts";
import { handleClientError } from "./client-error.ts";
import { capConnections } from "./connection-cap.ts";
import { handOverTo } from "./hand-over.ts";
import { limitServer } from "./limit-server.ts";
import { adminLimits, DEFAULT_LIMITS, http1Options, type ListenerLimits } from "./listener-limits.ts";
import type { NodeParserBinding } from "./raw/node-parser.ts";
import { RawServer } from "./raw/raw-server.ts";
import { sendPlain } from "./respond.ts";

export type AdminRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface AdminOptions {
  registry: Registry;
  /** Whether the component should receive traffic; /readyz answers 503 while false. */
  isReady: () => boolean;
  /**
   * For `/readyz?wait=MS` (a long poll, held at most READY_WAIT_MAX_MS): resolves when the
   * component may have become ready, after MS, or when `signal` aborts (the asker went away).
   * Without it `wait` is ignored and /readyz answers at once.
   */
  whenReady?: (timeoutMs: number, signal: AbortSignal) => Promise<void>;
  /** Extra routes by exact path, e.g. { "/stats": handler }. */
  routes?: Record<string, AdminRoute>;
  /** The component's listener limits (the connection cap is lowered for admin use). */
  limits?: ListenerLimits;
  /** Where the connection cap is logged when reached; without one the cap still holds. */
  log?: Logger;
  /** Names the listener in replies and log lines. */
  name?: string;
  /**
   * Serve with this parser on raw sockets (the component's raw path), as the data port does:
   * a queue-proxy then never loads node:http (~2 MB of RSS with the probes it serves). An upgrade
   * request, which the raw path hands over, goes to a node:http server made for it. Routes then
   * get the raw path's request and response (RawRequest, RawResponse): url, method and headers,
   * writeHead/write/end and one 'close' listener, no body stream — for routes that read no body.
   */
  raw?: NodeParserBinding;
}

/** The longest /readyz?wait= is held (a longer one is cut to this). */
export const READY_WAIT_MAX_MS = 10_000;

/** The wait= of a /readyz query, in ms, cut to READY_WAIT_MAX_MS (0 when absent or not a whole number). */
export function readyWaitMs(url: string): number {
  const match = /[?&]wait=(\d+)(?:&|$)/.exec(url);
  return match === null ? 0 : Math.min(Number(match[1]), READY_WAIT_MAX_MS);
}

/** Every component's admin port: /healthz, /readyz, /metrics and whatever routes it adds. */
export function createAdminServer(options: AdminOptions): NetServer {
  const { limits = DEFAULT_LIMITS, log, name = "admin port", raw } = options;
  const admin = adminLimits(limits);
  const handler = adminHandler(options);
  let http1: HttpServer | undefined;
  const nodeServer = (): HttpServer => {
    if (http1 === undefined) {
      http1 = process.getBuiltinModule("node:http").createServer(http1Options(admin), handler);
      if (raw) {
        http1.on("clientError", handleClientError(name));
        // It never listens itself (the raw server hands it connections): arm its timeouts.
        http1.emit("listening");
      } else if (log) limitServer(http1, admin, log, name);
      else {
        http1.on("clientError", handleClientError(name));
        http1.maxConnections = admin.maxConnections;
      }
    }
    return http1;
  };
  if (!raw) return nodeServer();
  const rawServer = new RawServer({
    component: name,
    binding: raw,
    limits: admin,
    // The raw request and response have the shapes the handler reads (as on the data port).
    onRequest: handler as never,
    handOver: handOverTo(nodeServer),
  });
  const listener = new RawAdminListener(rawServer, () => http1);
  if (log) capConnections(listener, admin.maxConnections, log, name);
  else listener.maxConnections = admin.maxConnections;
  return listener;
}

const NOTHING_READ = Buffer.alloc(0);

/** The admin port on the raw path. close() also closes idle connections, as node:http's does. */
class RawAdminListener extends NetServer {
  readonly #raw: RawServer;
  readonly #http1: () => HttpServer | undefined;

  constructor(raw: RawServer, http1: () => HttpServer | undefined) {
    super({ noDelay: true }, (socket) => raw.accept(socket, NOTHING_READ));
    this.#raw = raw;
    this.#http1 = http1;
    // The timeout sweep runs until the last connection is gone (a long poll answered after
    // close() is then still cut at its keep-alive timeout).
    this.once("close", () => raw.close());
  }

  override close(callback?: (error?: Error) => void): this {
    this.#raw.closeIdleConnections();
    this.#http1()?.close();
    return super.close(callback);
  }
}

function adminHandler({
  registry,
  isReady,
  whenReady,
  routes = {},
}: AdminOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    try {
      if (path === "/healthz") return sendPlain(res, 200, "ok");
      if (path === "/readyz") {
        const waitMs = isReady() ? 0 : readyWaitMs(req.url ?? "");
        if (whenReady !== undefined && waitMs > 0) {
          const gone = new AbortController();
          res.once("close", () => gone.abort());
          await whenReady(waitMs, gone.signal);
        }
        return isReady() ? sendPlain(res, 200, "ready") : sendPlain(res, 503, "not ready");
      }
      if (path === "/metrics") {
        const body = await registry.metrics();
        res.writeHead(200, { "content-type": registry.contentType });
        return void res.end(body);
      }
      const route = routes[path];
      if (route) return await route(req, res);
      sendPlain(res, 404, `no admin endpoint ${path}`);
    } catch (error) {
      sendPlain(res, 500, `admin endpoint ${path} failed: ${(error as Error).message}`);
    }
  };
}
