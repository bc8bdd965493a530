import type { IncomingMessage, ServerResponse } from "node:http";
import { RawRequest } from "../common/http/raw/raw-request.ts";
import { requestHasBody, requestHeader, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";
import { addForwardedHeaders } from "./forwarded.ts";
import type { HostKeys } from "./host-keys.ts";
import type { RouterMetrics } from "./metrics.ts";
import { type Resolution, type RoutingOptions, resolve } from "./resolve.ts";
import type { RouteTable } from "./route-table.ts";
import { RouterExchange } from "./router-exchange.ts";
import type { TrustedProxies } from "./trusted-proxies.ts";

export const TAG_HEADER = "sluice-tag";

export interface HandlerDeps {
  /** The current route table; read once per request. */
  table: () => RouteTable;
  options: RoutingOptions;
  metrics: RouterMetrics;
  proto: "http" | "https";
  /** Peers whose X-Forwarded-* are kept (appended to); everyone else's are replaced. */
  trustedProxies: TrustedProxies;
  hostKeys: HostKeys;
}

/**
 * The host a request is for: an HTTP/2 request's :authority, which an intermediary must use over
 * its Host (RFC 9113 §8.3.1; the listener refused the request if they differ), else Host.
 */
export function hostOf(req: IncomingMessage): string | undefined {
  if (req instanceof RawRequest) return req.header("host");
  return (req.headers[":authority"] as string | undefined) ?? req.headers.host;
}

export function route(deps: HandlerDeps, req: IncomingMessage, host = hostOf(req)): Resolution {
  return resolve(
    deps.table(),
    host,
    req.url ?? "/",
    requestHeader(req, TAG_HEADER),
    deps.options,
    deps.hostKeys.of,
  );
}

/**
 * The request path: route → headers for upstream → exchange (revision gate → pod or activator).
 * The client's headers pass through scanRequestHeaders, which drops the data plane's internal
 * ones (Sluice-Revision, K-Proxy-Request, K-Network-Probe, Sluice-Hop-Auth) whatever the protocol
 * (HTTP/1.1, h2c, TLS): only the router itself adds Sluice-Revision, for the activator.
 */
export function createRouterHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const host = hostOf(req);
    const found = route(deps, req, host);
    if ("status" in found) {
      deps.metrics.unrouted(found.reason);
      return sendPlain(res, found.status, found.message);
    }
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers);
    addForwardedHeaders(headers, req, deps.proto, host, found.prefix, deps.trustedProxies);
    if (found.prefix !== undefined) req.url = found.path;
    new RouterExchange(found.target, req, res, headers, requestHasBody(req, facts)).start();
  };
}
