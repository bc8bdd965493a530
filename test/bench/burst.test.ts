import t from "tap";
import { burstText, findP99Ms } from "../../bench/burst.ts";

t.test("findP99Ms: the cold burst's p99 in ms, wherever runColdBurst put it", async (t) => {
  t.equal(findP99Ms({ requests: 300, p50: 400, p99: 1400 }), 1400);
  t.equal(findP99Ms({ latency: { p99Ms: 900 } }), 900);
  t.equal(findP99Ms({ p99s: 1.5 }), 1500);
  t.equal(findP99Ms({ p50: 1 }), undefined);
  t.equal(findP99Ms(undefined), undefined);
  t.equal(findP99Ms({ p99: "fast" }), undefined);
});

t.test("burstText: its figures and statuses on one line", async (t) => {
  t.equal(
    burstText({ requests: 300, statuses: { "200": 299, error: 1 }, p99: 1400 }),
    "requests 300, p99 1400, statuses 299× 200, 1× error",
  );
  t.equal(
    burstText({
      requests: 3,
      statuses: { "200": 1, "404": 2 },
      firstFailure: { "404": "router: no service has the host" },
    }),
    "requests 3, statuses 1× 200, 2× 404, first 404: router: no service has the host",
    "what the first failure of each status said",
  );
});
