import { hostKey } from "./host.ts";
import type { UnroutedReason } from "./metrics.ts";
import type { RevisionTarget } from "./revision-target.ts";
import type { Route, RouteTable } from "./route-table.ts";

export interface RoutingOptions {
  tagHeaderRouting: boolean;
  pathRouting: boolean;
}

export type Resolution =
  | {
      target: RevisionTarget;
      /** The path to send upstream (without the routing prefix, when the path chose the route). */
      path: string;
      /** The path prefix that chose the route, for X-Forwarded-Prefix. */
      prefix: string | undefined;
    }
  | { status: 400 | 404 | 503; reason: UnroutedReason; message: string };

/**
 * Finds the revision for a request: the route by host (one map lookup; with path routing, by the
 * first path segment when the host is unknown), then a tag host's revision, the Sluice-Tag
 * header's, or the next one of the weighted split.
 */
export function resolve(
  table: RouteTable,
  hostHeader: string | undefined,
  url: string,
  tagHeader: string | undefined,
  options: RoutingOptions,
  /** hostKey, or a memo of it (HostKeys). */
  keyOf: (host: string | undefined) => string | undefined = hostKey,
): Resolution {
  const host = keyOf(hostHeader);
  if (host === undefined) {
    return {
      status: 400,
      reason: "bad_host",
      message: `router: invalid or missing Host header ${JSON.stringify(hostHeader ?? "")}`,
    };
  }
  let route: Route | undefined = table.hosts.get(host);
  let path = url;
  let prefix: string | undefined;
  if (route === undefined && options.pathRouting && url.charCodeAt(0) === 47 /* / */) {
    const end = firstSegmentEnd(url);
    route = table.hosts.get(url.slice(1, end).toLowerCase());
    if (route !== undefined) {
      prefix = url.slice(0, end);
      path = end === url.length || url.charCodeAt(end) !== 47 ? `/${url.slice(end)}` : url.slice(end);
    }
  }
  if (route === undefined) {
    return {
      status: 404,
      reason: "no_route",
      message: `router: no service has the host "${host}"${options.pathRouting ? " or the path prefix of this request" : ""}`,
    };
  }
  let target = route.tagged;
  if (target === undefined && tagHeader !== undefined && options.tagHeaderRouting)
    target = route.service.tags.get(tagHeader);
  target ??= route.service.split.pick();
  if (target === undefined) {
    const { namespace, name } = route.service.state;
    return {
      status: 503,
      reason: "no_route",
      message: `router: service ${namespace}/${name} sends no traffic anywhere`,
    };
  }
  return { target, path, prefix };
}

/** Where the first path segment ends: at the next "/", "?" or the end. */
function firstSegmentEnd(url: string): number {
  for (let i = 1; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) return i;
  }
  return url.length;
}
