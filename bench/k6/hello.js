// k6 load test against a running sluice: k6 run -e BASE_URL=http://127.0.0.1:8080 -e HOST=hello bench/k6/hello.js
import { check } from "k6";
import http from "k6/http";

export const options = {
  scenarios: {
    ramp: {
      executor: "ramping-vus",
      startVUs: 0,
      stages: [
        { duration: "30s", target: 50 },
        { duration: "1m", target: 50 },
        { duration: "30s", target: 0 },
      ],
    },
  },
  thresholds: { http_req_failed: ["rate<0.01"], http_req_duration: ["p(99)<500"] },
};

const base = __ENV.BASE_URL || "http://127.0.0.1:8080";
const host = __ENV.HOST || "hello";

export default function () {
  const res = http.get(`${base}/`, { headers: { Host: host } });
  check(res, {
    "status 200": (r) => r.status === 200,
    "has revision": (r) => r.headers["Sluice-Revision"] !== undefined,
  });
}
