import type { IncomingMessage } from "node:http";

/**
 * Whether an upgrade request asks for a WebSocket, the one protocol the data plane tunnels. node
 * asks only when the request has both `Connection: upgrade` and an Upgrade header; anything else
 * (h2c, TLS/1.0, …) goes on as an ordinary request, its Upgrade header dropped as hop-by-hop.
 */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== "string") return false;
  for (const token of upgrade.split(",")) {
    if (token.trim().toLowerCase() === "websocket") return true;
  }
  return false;
}
