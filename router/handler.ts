import type { IncomingMessage, ServerResponse } from "node:http";
import { requestHasBody, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";
import { addForwardedHeaders } from "./forwarded.ts";
import type { RouterMetrics } from "./metrics.ts";
import { type Resolution, type RoutingOptions, resolve } from "./resolve.ts";
import type { RouteTable } from "./route-table.ts";
import { RouterExchange } from "./router-exchange.ts";

export const TAG_HEADER = "sluice-tag";

export interface HandlerDeps {
  /** The current route table; read once per request. */
  table: () => RouteTable;
  options: RoutingOptions;
  metrics: RouterMetrics;
  proto: "http" | "https";
}

export function hostOf(req: IncomingMessage): string | undefined {
  return req.headers.host ?? (req.headers[":authority"] as string | undefined);
}

export function route(deps: HandlerDeps, req: IncomingMessage): Resolution {
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
