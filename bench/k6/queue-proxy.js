// k6 load test for a running sluice endpoint; not run by CI (k6 is not a dependency; CI type-checks
// it against @types/k6: npm run typecheck).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8012 bench/k6/queue-proxy.js                 # one queue-proxy
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e HOST=hello.default.example.com \
//          -e VUS=64 -e DURATION=2m bench/k6/queue-proxy.js                              # through the router
//
// BASE_URL (required): where to send requests; URL_PATH (default /); HOST: Host header, for the router's
// host-based routing; VUS (default 8): concurrent clients; DURATION (default 1m) at full VUS after
// a 10 s ramp. Fails (exit 99) if over 1% of requests fail or p99 exceeds P99_MS (default 500).
import { check } from "k6";
import http from "k6/http";
import { envNumber, target } from "./lib/target.js";

const { url, params } = target();
const vus = envNumber("VUS", 8);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    steady: {
      executor: "ramping-vus",
      startVUs: 0,
      stages: [
        { duration: "10s", target: vus },
        { duration: __ENV.DURATION || "1m", target: vus },
        { duration: "5s", target: 0 },
      ],
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: [`p(99)<${envNumber("P99_MS", 500)}`],
  },
  summaryTrendStats: ["avg", "med", "p(90)", "p(99)", "max"],
};

export default function () {
  const res = http.get(url, params);
  check(res, { "status 200": (r) => r.status === 200 });
}
