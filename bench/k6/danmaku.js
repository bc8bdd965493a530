// k6: examples/danmaku under load — comments posted to danmaku-web at a fixed rate, as a crowd of
// viewers would, while you watch `moderate` scale out on the status page and back to zero after.
// `npm run bench -- danmaku` (bench/danmaku.ts) runs its own sluice up and reports the figures;
// this is for a sluice you run. Not run by CI (k6 is not a dependency); type-checked against
// @types/k6 (npm run typecheck).
//
//   npx sluice up -f examples/danmaku/            # router on 8080, status page on 8090
//   k6 run -e BASE_URL=http://127.0.0.1:8080 bench/k6/danmaku.js
//
// BASE_URL (required): the router; HOST (default danmaku-web.default.example.com); RATE (default
// 1000) comments per second; DURATION (default 30s); VIEWERS (default 64): distinct viewers, the
// Kafka record keys, spread over the topic's partitions; BLOCKED_EVERY (default 10): one comment
// in that many holds a blocked word. Bounded: RATE × DURATION comments at most, then 30 s for
// those in flight. Fails (exit 99) if over 1 % are not taken (202).
import { check } from "k6";
import http from "k6/http";
import { envNumber } from "./lib/target.js";

const base = __ENV.BASE_URL;
if (!base) throw new Error("set BASE_URL, e.g. -e BASE_URL=http://127.0.0.1:8080");
const url = `${base.replace(/\/$/, "")}/comments`;
const rate = envNumber("RATE", 1000);
const viewers = envNumber("VIEWERS", 64);
const blockedEvery = envNumber("BLOCKED_EVERY", 10);
/** @type {import("k6/http").RefinedParams<"text">} */
const params = {
  headers: { Host: __ENV.HOST || "danmaku-web.default.example.com", "Content-Type": "application/json" },
  timeout: "10s",
};

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    crowd: {
      executor: "constant-arrival-rate",
      rate,
      timeUnit: "1s",
      duration: __ENV.DURATION || "30s",
      preAllocatedVUs: Math.min(200, rate),
      maxVUs: Math.min(1000, rate * 2),
      gracefulStop: "30s",
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
  },
  summaryTrendStats: ["avg", "med", "p(90)", "p(99)", "max"],
};

export default function () {
  const i = __ITER;
  const text = i % blockedEvery === 0 ? `spoiler ${__VU}-${i}` : `comment ${__VU}-${i}`;
  const body = JSON.stringify({ text, viewer: `k6-${(__VU + i) % viewers}` });
  const res = http.post(url, body, params);
  check(res, { "taken (202)": (r) => r.status === 202 });
}
