// k6: a canary split through the router: the share of requests each revision answers (the
// Sluice-Revision response header) must match the service's traffic percentages, within
// TOLERANCE percentage points, under load. Not run by CI (k6 is not a dependency); type-checked
// against @types/k6 (npm run typecheck).
//
//   npx sluice up -f examples/hello.yaml        # hello-00001 80 %, hello-00002 20 %
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e HOST=hello.default.example.com \
//          -e SPLIT=hello-00001=80,hello-00002=20 bench/k6/canary-split.js
//
// BASE_URL (required): the router; HOST (required): the service's host; SPLIT (required):
// revision=percent pairs, as in the Service's traffic; TOLERANCE (default 2) percentage points;
// VUS (default 8); DURATION (default 30s); P99_MS (default 500). Fails (exit 99) when a share is
// off by more than the tolerance, a request fails, or the p99 is over P99_MS.
import { check } from "k6";
import http from "k6/http";
import { Rate } from "k6/metrics";
import { envNumber, target } from "./lib/target.js";

const { url, params } = target();

/**
 * SPLIT as [revision, percent] pairs; the percentages must add up to 100.
 * @param {string | undefined} text
 * @returns {[string, number][]}
 */
function parseSplit(text) {
  if (!text) throw new Error("set SPLIT, e.g. -e SPLIT=hello-00001=80,hello-00002=20");
  /** @type {[string, number][]} */
  const pairs = text.split(",").map((/** @type {string} */ pair) => {
    const [revision, percent] = pair.split("=");
    const value = Number(percent);
    if (!revision || !Number.isFinite(value) || value < 0 || value > 100)
      throw new Error(`SPLIT: "${pair}" is not revision=percent`);
    return [revision.trim(), value];
  });
  const total = pairs.reduce((sum, [, percent]) => sum + percent, 0);
  if (total !== 100) throw new Error(`SPLIT: the percentages add up to ${total}, not 100`);
  return pairs;
}

const split = parseSplit(__ENV.SPLIT);
const tolerance = envNumber("TOLERANCE", 2);

/** Per revision (tag "revision"): the fraction of answers that came from it. */
const share = new Rate("revision_share");

/** @type {Record<string, string[]>} */
const shareThresholds = Object.fromEntries(
  split.map(([revision, percent]) => [
    `revision_share{revision:${revision}}`,
    [`rate>=${Math.max(0, percent - tolerance) / 100}`, `rate<=${Math.min(100, percent + tolerance) / 100}`],
  ]),
);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    split: { executor: "constant-vus", vus: envNumber("VUS", 8), duration: __ENV.DURATION || "30s" },
  },
  thresholds: {
    http_req_failed: ["rate<0.001"],
    http_req_duration: [`p(99)<${envNumber("P99_MS", 500)}`],
    ...shareThresholds,
  },
};

export default function () {
  const res = http.get(url, params);
  const answered = res.headers["Sluice-Revision"];
  check(res, {
    "status 200": (r) => r.status === 200,
    "answered by a revision of the split": () => split.some(([revision]) => revision === answered),
  });
  for (const [revision] of split) share.add(answered === revision, { revision });
}
