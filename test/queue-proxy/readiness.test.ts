import t from "tap";
import { READY_WAIT_MAX_MS, readyWaitMs } from "../../common/http/admin-server.ts";
import type { ReadinessProbe } from "../../queue-proxy/config.ts";
import { notReadyProbeDelay, ReadinessProber } from "../../queue-proxy/readiness.ts";

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

t.test(
  "whenReady: resolves when the app becomes ready, after its timeout, or at once when ready",
  async (t) => {
    const script = scripted([false, false, true]);
    const prober = new ReadinessProber({ ...probe, periodMs: 1 }, () => {}, script.check);
    t.teardown(() => prober.stop());
    let timedOut = false;
    await prober.whenReady(1).then(() => (timedOut = !prober.ready));
    t.ok(timedOut, "not started: resolved by its timeout, still not ready");
    const waiting = prober.whenReady(60_000);
    prober.start();
    await waiting;
    t.ok(prober.ready, "resolved by the probe that found the app ready");
    await prober.whenReady(60_000);
    t.pass("already ready: resolved at once");
    const asker = new AbortController();
    const notReady = new ReadinessProber(
      probe,
      () => {},
      async () => false,
    );
    const gone = notReady.whenReady(60_000, asker.signal);
    t.equal(notReady.waiting, 1);
    asker.abort();
    await gone;
    t.equal(notReady.waiting, 0, "an asker that went away leaves no waiter (nor its timer) behind");
    const stopped = new ReadinessProber(
      probe,
      () => {},
      async () => false,
    );
    const pending = stopped.whenReady(60_000);
    stopped.stop();
    await pending;
    t.pass("stop wakes a waiter");
  },
);

t.test("readyWaitMs reads /readyz?wait=MS, capped", async (t) => {
  t.equal(readyWaitMs("/readyz"), 0);
  t.equal(readyWaitMs("/readyz?wait=250"), 250);
  t.equal(readyWaitMs("/readyz?x=1&wait=40&y=2"), 40);
  t.equal(readyWaitMs("/readyz?wait=999999"), READY_WAIT_MAX_MS);
  t.equal(readyWaitMs("/readyz?wait=100000000"), READY_WAIT_MAX_MS, "any longer wait is cut, not dropped");
  t.equal(readyWaitMs("/readyz?wait=-5"), 0, "not a whole number: no wait");
  t.equal(readyWaitMs("/readyz?wait=1e3"), 0);
});

t.test(
  "notReadyProbeDelay: 20 ms at first, then a twentieth of the wait, never past the period",
  async (t) => {
    t.equal(notReadyProbeDelay(0, 1000), 20, "a fresh start: at once");
    t.equal(notReadyProbeDelay(300, 1000), 20, "a 300 ms boot is probed every 20 ms throughout");
    t.equal(notReadyProbeDelay(2000, 1000), 100);
    t.equal(notReadyProbeDelay(60_000, 1000), 1000, "capped by the probe's period");
    t.equal(notReadyProbeDelay(60_000, 5), 20, "a period below 20 ms does not speed the start-up probing up");
  },
);
