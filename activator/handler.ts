import type { IncomingMessage, ServerResponse } from "node:http";
import type { HopAuth } from "../common/hop-auth.ts";
import { requestHasBody, requestHeader, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";
import { REVISION_HEADER } from "../common/internal-headers.ts";
import { ActivatorExchange } from "./activator-exchange.ts";
import { checkRequest } from "./request-check.ts";
import type { RevisionTable } from "./revision-table.ts";
import type { StatsReporter } from "./stats-reporter.ts";

/**
 * The activator's request path: find the revision the router named, poke the autoscaler if it
 * has no pod ready, then hold the request at the revision's throttler until a pod has room.
 * With a hop secret, Sluice-Revision counts only from a request that carries it (the router);
 * either way only a revision some route sends traffic to may be named.
 */
export function createActivatorHandler(
  table: RevisionTable,
  reporter: StatsReporter,
  auth: HopAuth,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers, auth);
    const found = checkRequest(table, requestHeader(req, REVISION_HEADER), facts, auth);
    if ("status" in found) {
      if (found.poke) reporter.poke(found.poke); // new demand earns the revision another try
      return sendPlain(res, found.status, found.message, found.headers);
    }
    const entry = found;
    if (entry.throttler.readyPods === 0) reporter.poke(entry.key);
    new ActivatorExchange(entry, req, res, headers, requestHasBody(req, facts)).start();
  };
}
