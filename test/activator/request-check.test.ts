// Which revisions the activator takes requests for: one a route sends traffic to, or did a moment
// ago (a router a step behind the state still sends the old revision its share).
import t from "tap";
import { ROUTE_CHANGE_GRACE_MS, routedNow } from "../../activator/request-check.ts";

t.test("a revision is routed while a route names it, and for a grace period after", async (t) => {
  const now = 1_000_000;
  t.ok(routedNow({ referenced: true, unreferencedAt: 0 }, now), "named by a route");
  t.notOk(routedNow({ referenced: false, unreferencedAt: 0 }, now), "never named by one");
  t.ok(routedNow({ referenced: false, unreferencedAt: now - 10 }, now), "its last route went 10 ms ago");
  t.ok(routedNow({ referenced: false, unreferencedAt: now - ROUTE_CHANGE_GRACE_MS + 1 }, now));
  t.notOk(routedNow({ referenced: false, unreferencedAt: now - ROUTE_CHANGE_GRACE_MS }, now), "grace over");
});
