import t from "tap";
import { DEFAULT_BACKOFF, restartDelay } from "../../platform/local/backoff.ts";
import { LogTail } from "../../platform/local/log-tail.ts";

t.test("restart delay doubles from the base and is capped", async (t) => {
  const policy = { baseMs: 100, maxMs: 1000, failAfterCrashes: 3 };
  t.same(
    [0, 1, 2, 3, 4, 5, 10].map((n) => restartDelay(policy, n)),
    [0, 100, 200, 400, 800, 1000, 1000],
  );
  t.equal(DEFAULT_BACKOFF.failAfterCrashes, 3);
});

t.test("LogTail keeps the last lines, across chunk boundaries", async (t) => {
  const tail = new LogTail(3);
  tail.push("one\ntw");
  tail.push("o\nthree\nfour\nfi");
  t.same(tail.lines(), ["three", "four", "fi"], "a partial last line is included");
  tail.push("ve\n");
  t.same(tail.lines(), ["three", "four", "five"]);
  const long = new LogTail(1);
  long.push(`${"x".repeat(600)}\n`);
  t.equal(long.lines()[0].length, 501, "very long lines are cut");
});
