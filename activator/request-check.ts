import type { HopAuth } from "../common/hop-auth.ts";
import type { RequestHeaderFacts } from "../common/http/request-headers.ts";
import { failureMessage, type RevisionEntry, type RevisionTable } from "./revision-table.ts";

/** Why the activator will not hold a request (or an upgrade), as the status to answer with. */
export interface RequestRefusal {
  status: 400 | 403 | 404 | 503;
  message: string;
  headers?: Record<string, string>;
  /** A revision that cannot start gets another try on new demand: the key to poke. */
  poke?: string;
}

/**
 * (Not the gate's admit(), which lets a waiting request in: this decides whether it may wait.)
 * The checks every request and upgrade passes at the activator, in this order: from the router
 * (with a hop secret), naming a revision (its Sluice-Revision key), once the state has arrived,
 * one the state knows, that some route sends traffic to, and that can become ready.
 */
export function checkRequest(
  table: RevisionTable,
  key: string | string[] | undefined,
  facts: RequestHeaderFacts,
  auth: HopAuth,
): RevisionEntry | RequestRefusal {
  if (auth.configured && !facts.fromHop)
    return {
      status: 403,
      message: "activator: requests are accepted from the router only (missing or wrong Sluice-Hop-Auth)",
    };
  if (typeof key !== "string" || key === "")
    return {
      status: 400,
      message: "activator: missing Sluice-Revision header (the router names the target revision)",
    };
  if (!table.hasState)
    return {
      status: 503,
      message: "activator: no routing state from the autoscaler yet",
      headers: { "retry-after": "1" },
    };
  const entry = table.get(key);
  if (!entry || entry.removed) return { status: 404, message: `activator: unknown revision ${key}` };
  if (!entry.referenced)
    return {
      status: 404,
      message: `activator: no route sends traffic to revision ${key}`,
    };
  if (entry.state.failure)
    return {
      status: 503,
      message: failureMessage(entry.state),
      headers: { "retry-after": "5" },
      poke: key,
    };
  return entry;
}
