// k6: the cold burst of issue 13 against a running sluice: REQUESTS (default 300) clients each
// send one request at the same moment to a service at zero pods. `npm run bench -- burst`
// (bench/cold-burst.ts) runs the same burst on one machine with its own sluice up; this is for
// your own service and machine. Not run by CI (k6 is not a dependency); type-checked against
// @types/k6 (npm run typecheck).
//
//   # a service at zero: autoscaling.knative.dev/initial-scale: "0", containerConcurrency 4, as
//   # bench/k6/cold.yaml (npx sluice up -f bench/k6/cold.yaml); wait until `npx sluice status`
//   # shows 0 pods for it, then:
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e HOST=cold.default.example.com bench/k6/cold-burst.js
//
// BASE_URL (required): the router; HOST (required for the router): the service's host; URL_PATH
// (default /); REQUESTS (default 300); P99_MS (default 1500): the goal for the burst's p99;
// TIMEOUT (default 60s) per request. Fails (exit 99) unless every request gets a 200 and the
// p99 is under P99_MS. Run it again only once the service is back at zero.
import { check } from "k6";
import http from "k6/http";
import { envNumber, target } from "./lib/target.js";

const { url, params } = target();
const requests = envNumber("REQUESTS", 300);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    // Every VU is initialised before the scenario starts: the requests leave together.
    burst: { executor: "per-vu-iterations", vus: requests, iterations: 1, maxDuration: "2m" },
  },
  thresholds: {
    http_req_failed: ["rate==0"],
    checks: ["rate==1"],
    http_req_duration: [`p(99)<${envNumber("P99_MS", 1500)}`],
  },
  summaryTrendStats: ["min", "med", "p(90)", "p(99)", "max"],
};

export default function () {
  const res = http.get(url, { ...params, timeout: __ENV.TIMEOUT || "60s" });
  check(res, { "status 200": (r) => r.status === 200 });
}
