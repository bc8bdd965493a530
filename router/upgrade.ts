import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { scanRequestHeaders } from "../common/http/request-headers.ts";
import { rawResponse } from "../common/http/respond.ts";
import { Tunnel } from "../common/http/tunnel.ts";
import { addForwardedHeaders } from "./forwarded.ts";
import { type HandlerDeps, hostOf, route } from "./handler.ts";
import type { PodSlot } from "./pod-balancer.ts";
import type { RouterWaiter } from "./revision-target.ts";

/** A WebSocket tunnel that takes a pod slot from a revision target, as requests do. */
class RouterTunnel extends Tunnel implements RouterWaiter {
  slot: PodSlot | null = null;
}

/**
 * WebSocket upgrades (the listener hands no other kind here): routed like requests, then asked of
 * the pod (or the activator) under the revision's timeout and metrics. The client's headers go
 * through the same filter as a request's, so no internal header of the data plane gets through.
 */
export function createUpgradeHandler(
  deps: HandlerDeps,
  open: Set<Tunnel>,
  maxResponseHeadBytes: number,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function handleUpgrade(req, socket, head) {
    const found = route(deps, req);
    if ("status" in found) {
      deps.metrics.unrouted(found.reason);
      socket.end(rawResponse(found.status, found.message));
      return;
    }
    const headers: string[] = [];
    scanRequestHeaders(req.rawHeaders, headers);
    addForwardedHeaders(headers, req, deps.proto, hostOf(req), found.prefix, deps.trustedProxies);
    if (found.prefix !== undefined) req.url = found.path;
    const { target } = found;
    const tunnel: RouterTunnel = new RouterTunnel(
      {
        ctx: target.ctx,
        requestHeaders: () => (tunnel.slot === null ? [...headers, ...target.activatorHeaders] : headers),
        maxResponseHeadBytes,
        open,
      },
      req,
      socket,
      head,
    );
    tunnel.start();
  };
}
