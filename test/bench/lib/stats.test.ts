import t from "tap";
import { median, percentile, ratio } from "../../../bench/lib/stats.ts";

t.test("median: the middle value, the lower middle of an even count, NaN when empty", async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2);
  t.equal(median([7]), 7);
  t.ok(Number.isNaN(median([])));
  const values = [3, 1, 2];
  median(values);
  t.same(values, [3, 1, 2], "the input is not sorted in place");
});

t.test("percentile: nearest rank", async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100…1, unsorted
  t.equal(percentile(hundred, 0.5), 50);
  t.equal(percentile(hundred, 0.99), 99);
  t.equal(percentile(hundred, 1), 100);
  t.equal(percentile(hundred, 0), 1);
  t.equal(percentile([5, 1, 9], 0.5), 5);
  t.equal(percentile([10, 20], 0.99), 20, "p99 of two values is the larger");
  t.equal(percentile([42], 0.5), 42);
  t.ok(Number.isNaN(percentile([], 0.5)));
  // 300 requests: the p99 is the 297th smallest (3 values are above it)
  const burst = Array.from({ length: 300 }, (_, i) => i + 1);
  t.equal(percentile(burst, 0.99), 297);
});

t.test("ratio: a / b, NaN instead of Infinity or a ratio to nothing", async (t) => {
  t.equal(ratio(30, 15), 2);
  t.equal(ratio(0, 15), 0);
  t.ok(Number.isNaN(ratio(30, 0)));
  t.ok(Number.isNaN(ratio(30, -1)));
  t.ok(Number.isNaN(ratio(30, undefined)));
  t.ok(Number.isNaN(ratio(undefined, 2)));
  t.ok(Number.isNaN(ratio(Number.NaN, 2)));
  t.ok(Number.isNaN(ratio(30, Number.POSITIVE_INFINITY)));
});
