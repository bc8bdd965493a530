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
});
