import type { IncomingMessage, ServerResponse } from "node:http";
import { Exchange } from "../common/http/proxy-exchange.ts";
import { requestHasBody, scanRequestHeaders } from "../common/http/request-headers.ts";
import { sendPlain } from "../common/http/respond.ts";
import { failureMessage, type RevisionTable } from "./revision-table.ts";
import type { StatsReporter } from "./stats-reporter.ts";

/** The request header in which the router names the revision a request is for. */
export const REVISION_HEADER = "sluice-revision";

/**
 * The activator's request path: find the revision the router named, poke the autoscaler if it
 * has no pod ready, then hold the request at the revision's throttler until a pod has room.
 */
export function createActivatorHandler(
  table: RevisionTable,
  reporter: StatsReporter,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function handleRequest(req, res) {
    const name = req.headers[REVISION_HEADER];
    if (typeof name !== "string" || name === "") {
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
    const entry = table.get(name);
    if (!entry || entry.removed) return sendPlain(res, 404, `activator: unknown revision ${name}`);
    if (entry.state.failure) {
      reporter.poke(name); // new demand earns the revision another try
      return sendPlain(res, 503, failureMessage(entry.state), { "retry-after": "5" });
    }
    if (entry.throttler.readyPods === 0) reporter.poke(name);
    const headers: string[] = [];
    const facts = scanRequestHeaders(req.rawHeaders, headers);
    new Exchange(entry.ctx, req, res, headers, requestHasBody(req, facts), false).start();
  };
}
