import t from "tap";
import { afterFailure, backoffDelay, MAX_BACKOFF_MS } from "../../eventing/dispatcher/backoff.ts";
import { parseIsoDuration } from "../../eventing/resources/iso-duration.ts";

t.test("back-off: Knative's formulas with n the retry being scheduled", async (t) => {
  const linear = { retry: 3, backoffPolicy: "linear" as const, backoffDelayMs: 100 };
  const exponential = { ...linear, backoffPolicy: "exponential" as const };
  t.same(
    [1, 2, 3].map((n) => backoffDelay(linear, n)),
    [100, 200, 300],
  );
  t.same(
    [1, 2, 3].map((n) => backoffDelay(exponential, n)),
    [200, 400, 800],
  );
  t.equal(backoffDelay({ ...exponential, backoffDelayMs: 1000 }, 60), MAX_BACKOFF_MS, "capped");
});

t.test("after a failed attempt: retry until the retries are spent", async (t) => {
  const policy = { retry: 2, backoffPolicy: "linear" as const, backoffDelayMs: 50 };
  t.same(afterFailure(policy, 1), { retryInMs: 50 }, "the first attempt failed: first retry");
  t.same(afterFailure(policy, 2), { retryInMs: 100 });
  t.equal(afterFailure(policy, 3), "give-up", "1 attempt + 2 retries");
  t.equal(afterFailure({ ...policy, retry: 0 }, 1), "give-up", "no retries");
});

t.test("ISO-8601 durations", async (t) => {
  t.equal(parseIsoDuration("PT0.2S"), 200);
  t.equal(parseIsoDuration("PT1M30S"), 90_000);
  t.equal(parseIsoDuration("PT1H"), 3_600_000);
  t.equal(parseIsoDuration("P1D"), 86_400_000);
  t.equal(parseIsoDuration("P1W"), 7 * 86_400_000);
  t.equal(parseIsoDuration("P1DT1S"), 86_401_000);
  t.equal(parseIsoDuration("PT0,5S"), 500, "a comma as the decimal sign");
  t.equal(parseIsoDuration("PT0S"), 0);
  for (const bad of ["", "P", "PT", "1s", "PT1", "T1S", "PT-1S", "P1S", "PT1S1M"])
    t.equal(parseIsoDuration(bad), undefined, JSON.stringify(bad));
});
