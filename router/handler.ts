import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { requestHasBody, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";
import { rawResponse, Tunnel } from "../common/http/tunnel.ts";
import { addForwardedHeaders } from "./forwarded.ts";
import type { RouterMetrics } from "./metrics.ts";
import type { PodSlot } from "./pod-balancer.ts";
import { type Resolution, type RoutingOptions, resolve } from "./resolve.ts";
import type { RouterWaiter } from "./revision-target.ts";
import type { RouteTable } from "./route-table.ts";
import { REVISION_HEADER, RouterExchange } from "./router-exchange.ts";

export const TAG_HEADER = "sluice-tag";

export interface HandlerDeps {
  /** The current route table; read once per request. */
  table: () => RouteTable;
  options: RoutingOptions;
  metrics: RouterMetrics;
  proto: "http" | "https";
}

function hostOf(req: IncomingMessage): string | undefined {
  return req.headers.host ?? (req.headers[":authority"] as string | undefined);
}

function route(deps: HandlerDeps, req: IncomingMessage): Resolution {
  const tag = req.headers[TAG_HEADER];
  return resolve(
    deps.table(),
    hostOf(req),
    req.url ?? "/",
    typeof tag === "string" ? tag : undefined,
    deps.options,
  );
}

/** The request path: route → headers for upstream → exchange (revision gate → pod or activator). */
export function createRouterHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const found = route(deps, req);
    if ("status" in found) {
      deps.metrics.unrouted(found.reason);
      return sendPlain(res, found.status, found.message);
    }
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers);
    addForwardedHeaders(headers, req, deps.proto, hostOf(req), found.prefix);
    if (found.prefix !== undefined) req.url = found.path;
    new RouterExchange(found.target, req, res, headers, requestHasBody(req, facts)).start();
  };
}

/** An upgrade (WebSocket) tunnel that takes a pod slot from a revision target, as requests do. */
class RouterTunnel extends Tunnel implements RouterWaiter {
  slot: PodSlot | null = null;
  avoid: PodSlot | undefined = undefined;
}

/** Upgrades: routed like requests, then relayed byte for byte to the pod (or the activator). */
export function createUpgradeHandler(
  deps: HandlerDeps,
  open: Set<Tunnel>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function handleUpgrade(req, socket, head) {
    const found = route(deps, req);
    if ("status" in found) {
      deps.metrics.unrouted(found.reason);
      socket.end(
        rawResponse(found.status, found.status === 400 ? "Bad Request" : "Not Found", found.message),
      );
      return;
    }
    if (found.prefix !== undefined) req.url = found.path;
    const { target } = found;
    const tunnel: RouterTunnel = new RouterTunnel(
      {
        gate: target,
        component: "router",
        waitTimeoutMs: target.ctx.timeoutMs,
        requestHeaders: () => {
          const headers = [...req.rawHeaders];
          addForwardedHeaders(headers, req, deps.proto, hostOf(req), found.prefix);
          if (tunnel.slot === null) headers.push(REVISION_HEADER, target.name);
          return headers;
        },
        open,
      },
      req,
      socket,
      head,
    );
    tunnel.start();
  };
}
