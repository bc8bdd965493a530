import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { rawResponse, Tunnel } from "../common/http/tunnel.ts";
import { addForwardedHeaders } from "./forwarded.ts";
import { type HandlerDeps, hostOf, route } from "./handler.ts";
import type { PodSlot } from "./pod-balancer.ts";
import type { RouterWaiter } from "./revision-target.ts";
import { REVISION_HEADER } from "./router-exchange.ts";

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
