import t from "tap";
import type { ReadinessProbe } from "../../queue-proxy/config.ts";
import { ReadinessProber } from "../../queue-proxy/readiness.ts";

const probe: ReadinessProbe = { kind: "tcp", host: "127.0.0.1", port: 1, periodMs: 60_000, timeoutMs: 10 };

/** A check whose answers the test scripts; resolves `asked` each time it is called. */
function scripted(answers: boolean[]) {
  const calls: number[] = [];
  let notify: () => void = () => {};
  return {
    calls,
    next: () => new Promise<void>((resolve) => (notify = resolve)),
    check: async () => {
      calls.push(Date.now());
      const answer = answers.shift() ?? false;
      queueMicrotask(notify);
      return answer;
    },
  };
}

t.test("becomes ready on the first success and reports the change", async (t) => {
  const script = scripted([false, false, true]);
  const changes: boolean[] = [];
  const prober = new ReadinessProber(probe, (ready) => changes.push(ready), script.check);
  t.teardown(() => prober.stop());
  prober.start();
  while (!prober.ready) await script.next();
  t.equal(script.calls.length, 3, "kept probing while not ready");
  t.same(changes, [true]);
});

t.test("a ready app turns not ready only after three failures in a row", async (t) => {
  const script = scripted([true, false, false, true, false, false, false]);
  const changes: [number, boolean][] = [];
  const prober = new ReadinessProber(
    { ...probe, periodMs: 1 },
    (ready) => changes.push([script.calls.length, ready]),
    script.check,
  );
  t.teardown(() => prober.stop());
  prober.start();
  while (changes.length < 2) await script.next();
  t.same(
    changes,
    [
      [1, true],
      [7, false],
    ],
    "ready after probe 1; two failures, a success, then three failures turn it not ready at probe 7",
  );
});
