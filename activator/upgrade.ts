import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { HopAuth } from "../common/hop-auth.ts";
import { type RequestHeaderFacts, scanRequestHeaders } from "../common/http/request-headers.ts";
import { rawResponse, Tunnel } from "../common/http/tunnel.ts";
import { REVISION_HEADER } from "../common/internal-headers.ts";
import { failureMessage, type RevisionEntry, type RevisionTable } from "./revision-table.ts";
import type { StatsReporter } from "./stats-reporter.ts";

export type UpgradeRefusal = {
  status: number;
  reason: string;
  message: string;
  headers?: Record<string, string>;
};

/**
 * The checks a request passes at the activator, for an upgrade: from the router (with a hop
 * secret), naming a revision the state knows, that some route sends traffic to, and that can
 * become ready. Mirrors createActivatorHandler's order and answers.
 */
export function checkUpgrade(
  table: RevisionTable,
  key: string | string[] | undefined,
  facts: RequestHeaderFacts,
  auth: HopAuth,
): RevisionEntry | UpgradeRefusal {
  if (auth.configured && !facts.fromHop)
    return {
      status: 403,
      reason: "Forbidden",
      message: "activator: requests are accepted from the router only (missing or wrong Sluice-Hop-Auth)",
    };
  if (typeof key !== "string" || key === "")
    return {
      status: 400,
      reason: "Bad Request",
      message: "activator: missing Sluice-Revision header (the router names the target revision)",
    };
  if (!table.hasState)
    return {
      status: 503,
      reason: "Service Unavailable",
      message: "activator: no routing state from the autoscaler yet",
      headers: { "retry-after": "1" },
    };
  const entry = table.get(key);
  if (!entry || entry.removed)
    return { status: 404, reason: "Not Found", message: `activator: unknown revision ${key}` };
  if (!entry.referenced)
    return {
      status: 404,
      reason: "Not Found",
      message: `activator: no route sends traffic to revision ${key}`,
    };
  if (entry.state.failure)
    return {
      status: 503,
      reason: "Service Unavailable",
      message: failureMessage(entry.state),
      headers: { "retry-after": "5" },
    };
  return entry;
}

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
    const found = checkUpgrade(table, key, facts, auth);
    if ("status" in found) {
      if (found.status === 503 && typeof key === "string" && table.get(key)) reporter.poke(key); // new demand earns another try
      socket.end(rawResponse(found.status, found.reason, found.message, found.headers));
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
