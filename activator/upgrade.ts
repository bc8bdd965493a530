import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { rawResponse, Tunnel } from "../common/http/tunnel.ts";
import { REVISION_HEADER } from "./handler.ts";
import { failureMessage, type RevisionTable } from "./revision-table.ts";
import type { StatsReporter } from "./stats-reporter.ts";

/**
 * Upgrades (WebSocket) for a revision without a ready pod: poked and held at the revision's
 * throttler like any request, then tunnelled to the pod, holding its slot while open.
 */
export function createUpgradeHandler(
  table: RevisionTable,
  reporter: StatsReporter,
  open: Set<Tunnel>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function handleUpgrade(req, socket, head) {
    const name = req.headers[REVISION_HEADER];
    const entry = typeof name === "string" ? table.get(name) : undefined;
    if (entry === undefined || entry.removed) {
      socket.end(
        rawResponse(
          404,
          "Not Found",
          `activator: unknown revision ${String(name ?? "(no Sluice-Revision header)")}`,
        ),
      );
      return;
    }
    if (entry.state.failure) {
      reporter.poke(entry.name);
      socket.end(
        rawResponse(503, "Service Unavailable", failureMessage(entry.state), { "retry-after": "5" }),
      );
      return;
    }
    if (entry.throttler.readyPods === 0) reporter.poke(entry.name);
    const tunnel = new Tunnel(
      {
        gate: entry.throttler,
        component: "activator",
        waitTimeoutMs: entry.ctx.timeoutMs,
        requestHeaders: () => [...req.rawHeaders, "k-proxy-request", "activator"],
        open,
      },
      req,
      socket,
      head,
    );
    tunnel.start();
  };
}
