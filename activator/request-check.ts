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
 * How long a revision whose last route went keeps taking requests: each router follows the
 * autoscaler's state on its own watch, and one that has not seen the change yet still sends the
 * revision its share (the end of a rollout, a traffic split moved).
 */
export const ROUTE_CHANGE_GRACE_MS = 5000;

/** Whether a route sends traffic to the revision, or did a moment ago (ROUTE_CHANGE_GRACE_MS). */
export function routedNow(entry: Pick<RevisionEntry, "referenced" | "unreferencedAt">, now: number): boolean {
  return entry.referenced || (entry.unreferencedAt > 0 && now - entry.unreferencedAt < ROUTE_CHANGE_GRACE_MS);
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
  if (!routedNow(entry, Date.now()))
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
