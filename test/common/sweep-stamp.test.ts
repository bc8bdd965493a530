import t from "tap";
import { EXPIRED, sweepStamp, UNSTAMPED, UNTIMED } from "../../common/http/raw/sweep-stamp.ts";

t.test("an UNSTAMPED stamp gets the sweep's time, or the time asked for", async (t) => {
  t.equal(sweepStamp(UNSTAMPED, 50_000, 1000), 50_000);
  t.equal(sweepStamp(UNSTAMPED, 50_000, 1000, 49_500), 49_500);
});

t.test("UNSTAMPED and UNTIMED are never read as times", async (t) => {
  // Both are far in the past as times: read as such, they would expire at once.
  t.equal(sweepStamp(UNSTAMPED, 1e12, 1), 1e12);
  t.equal(sweepStamp(UNTIMED, 1e12, 1), UNTIMED);
});

t.test("a stamp expires only when more than the limit has passed", async (t) => {
  t.equal(sweepStamp(10_000, 11_000, 1000), 10_000, "exactly the limit: kept");
  t.equal(sweepStamp(10_000, 11_001, 1000), EXPIRED);
});

t.test("a limit of 0 times nothing", async (t) => {
  t.equal(sweepStamp(10_000, 1e12, 0), 10_000);
  t.equal(sweepStamp(UNSTAMPED, 1e12, 0), UNSTAMPED);
});
