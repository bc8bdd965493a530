import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { HopAuth } from "../common/hop-auth.ts";
import { scanRequestHeaders } from "../common/http/request-headers.ts";
import { rawResponse } from "../common/http/respond.ts";
import { Tunnel } from "../common/http/tunnel.ts";
import { REVISION_HEADER } from "../common/internal-headers.ts";
import { checkRequest } from "./request-check.ts";
import type { RevisionTable } from "./revision-table.ts";
import type { StatsReporter } from "./stats-reporter.ts";

/**
 * WebSocket upgrades for a revision without a ready pod: checked as requests are, poked and held
 * at the revision's throttler like any request, then asked of the pod, holding its slot while
 * the tunnel is open.
 */
export function createUpgradeHandler(
  table: RevisionTable,
  reporter: StatsReporter,
  auth: HopAuth,
  open: Set<Tunnel>,
  maxResponseHeadBytes: number,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function handleUpgrade(req, socket, head) {
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers, auth);
    const key = req.headers[REVISION_HEADER];
    const found = checkRequest(table, key, facts, auth);
    if ("status" in found) {
      if (found.poke) reporter.poke(found.poke);
      socket.end(rawResponse(found.status, found.message, found.headers));
      return;
    }
    if (found.throttler.readyPods === 0) reporter.poke(found.key);
    new Tunnel(
      { ctx: found.ctx, requestHeaders: () => headers, maxResponseHeadBytes, open },
      req,
      socket,
      head,
    ).start();
  };
}
