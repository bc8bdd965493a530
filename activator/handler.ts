import type { IncomingMessage, ServerResponse } from "node:http";
import type { HopAuth } from "../common/hop-auth.ts";
import { requestHasBody, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";
import { REVISION_HEADER } from "../common/internal-headers.ts";
import { ActivatorExchange } from "./activator-exchange.ts";
import { failureMessage, type RevisionTable } from "./revision-table.ts";
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
    if (auth.configured && !facts.fromHop) {
      return sendPlain(
        res,
        403,
        "activator: requests are accepted from the router only (missing or wrong Sluice-Hop-Auth)",
      );
    }
    const key = req.headers[REVISION_HEADER];
    if (typeof key !== "string" || key === "") {
      return sendPlain(
        res,
        400,
        "activator: missing Sluice-Revision header (the router names the target revision)",
      );
    }
    if (!table.hasState) {
      return sendPlain(res, 503, "activator: no routing state from the autoscaler yet", {
        "retry-after": "1",
      });
    }
    const entry = table.get(key);
    if (!entry || entry.removed) return sendPlain(res, 404, `activator: unknown revision ${key}`);
    if (!entry.referenced) return sendPlain(res, 404, `activator: no route sends traffic to revision ${key}`);
    if (entry.state.failure) {
      reporter.poke(key); // new demand earns the revision another try
      return sendPlain(res, 503, failureMessage(entry.state), { "retry-after": "5" });
    }
    if (entry.throttler.readyPods === 0) reporter.poke(key);
    new ActivatorExchange(entry, req, res, headers, requestHasBody(req, facts)).start();
  };
}
