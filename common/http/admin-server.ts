import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "../log.ts";
import { handleClientError } from "./client-error.ts";
import { limitServer } from "./limit-server.ts";
import { adminLimits, DEFAULT_LIMITS, http1Options, type ListenerLimits } from "./listener-limits.ts";
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
}

/** The longest /readyz?wait= is held (a longer one is cut to this). */
export const READY_WAIT_MAX_MS = 10_000;

/** The wait= of a /readyz query, in ms, cut to READY_WAIT_MAX_MS (0 when absent or not a whole number). */
export function readyWaitMs(url: string): number {
  const match = /[?&]wait=(\d+)(?:&|$)/.exec(url);
  return match === null ? 0 : Math.min(Number(match[1]), READY_WAIT_MAX_MS);
}

/** Every component's admin port: /healthz, /readyz, /metrics and whatever routes it adds. */
export function createAdminServer({
  registry,
  isReady,
  whenReady,
  routes = {},
  limits = DEFAULT_LIMITS,
  log,
  name = "admin port",
}: AdminOptions): Server {
  const admin = adminLimits(limits);
  const server = createServer(http1Options(admin), async (req, res) => {
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
  });
  if (log) limitServer(server, admin, log, name);
  else {
    server.on("clientError", handleClientError(name));
    server.maxConnections = admin.maxConnections;
  }
  return server;
}
