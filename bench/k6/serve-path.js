// k6: the serve path (router → queue-proxy → app) of a running sluice, closed loop at 8 and then
// 64 clients, as `npm run bench -- serve` measures it on one machine. Not run by CI (k6 is not a
// dependency); type-checked against @types/k6 (npm run typecheck).
//
//   npx sluice up -f examples/hello.yaml       # or any service, kept warm: min-scale 1
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e HOST=hello.default.example.com bench/k6/serve-path.js
//
// BASE_URL (required): the router; HOST (required for the router): the service's host; URL_PATH
// (default /); STAGE (default 30s) at each client count; P99_MS (default 50): the p99 each stage
// must stay under. Per-stage figures are tagged clients:8 and clients:64 in the summary. Fails
// (exit 99) on any failed request or a p99 over P99_MS.
import { check } from "k6";
import http from "k6/http";
import { envNumber, target } from "./lib/target.js";

const { url, params } = target();
const stage = __ENV.STAGE || "30s";
const p99 = envNumber("P99_MS", 50);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    clients8: { executor: "constant-vus", vus: 8, duration: stage, tags: { clients: "8" } },
    clients64: {
      executor: "constant-vus",
      vus: 64,
      duration: stage,
      startTime: stage,
      tags: { clients: "64" },
    },
  },
  thresholds: {
    http_req_failed: ["rate==0"],
    "http_req_duration{clients:8}": [`p(99)<${p99}`],
    "http_req_duration{clients:64}": [`p(99)<${p99}`],
    "http_reqs{clients:8}": ["count>0"],
    "http_reqs{clients:64}": ["count>0"],
  },
  summaryTrendStats: ["med", "p(90)", "p(99)", "max"],
};

export default function () {
  const res = http.get(url, params);
  check(res, { "status 200": (r) => r.status === 200 });
}
