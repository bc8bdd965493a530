import t from "tap";
import { parseUpArgs, UsageError } from "../../cli/up/options.ts";

t.test("--max-pods: the local platform's capacity, a whole number of pods", async (t) => {
  t.equal(parseUpArgs([], ["examples"]).maxPods, undefined, "absent: the machine's");
  t.equal(parseUpArgs(["--max-pods", "6"], ["examples"]).maxPods, 6);
  for (const bad of ["0", "2.5", "many"])
    t.throws(
      () => parseUpArgs(["--max-pods", bad], ["examples"]),
      new UsageError(`--max-pods ${bad}: expected a whole number of pods from 1 to 100000`),
      bad,
    );
});
