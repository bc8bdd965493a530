import t from "tap";
import { Drainer } from "../../queue-proxy/drain.ts";

t.test("done once idle and quiet for the quiet period", async (t) => {
  let idle = false;
  let lastArrival = 0;
  const drainer = new Drainer({
    quietMs: 100,
    timeoutMs: 10_000,
    isIdle: () => idle,
    lastArrival: () => lastArrival,
  });
  t.notOk(drainer.isDone(1000, 1050), "busy");
  idle = true;
  t.notOk(drainer.isDone(1000, 1050), "idle but the quiet period has not passed since drain started");
  t.ok(drainer.isDone(1000, 1100));
  lastArrival = 1090;
  t.notOk(drainer.isDone(1000, 1150), "a late arrival restarts the quiet period");
  t.ok(drainer.isDone(1000, 1190));
});

t.test("the hard timeout ends the drain even when busy", async (t) => {
  const drainer = new Drainer({ quietMs: 100, timeoutMs: 500, isIdle: () => false, lastArrival: () => 0 });
  t.notOk(drainer.isDone(0, 499));
  t.ok(drainer.isDone(0, 500));
  t.equal(
    await drainer.drain.call(
      new Drainer({ quietMs: 0, timeoutMs: 0, isIdle: () => false, lastArrival: () => 0 }),
    ),
    false,
    "reports an unclean end",
  );
});

t.test(
  "one drain at a time: a second call joins it; cancel ends it and the next starts afresh",
  async (t) => {
    const events: boolean[] = [];
    let idle = false;
    const drainer = new Drainer({
      quietMs: 0,
      timeoutMs: 10_000,
      isIdle: () => idle,
      lastArrival: () => 0,
      checkEveryMs: 5,
      onDraining: (draining) => events.push(draining),
    });
    t.notOk(drainer.draining);
    const first = drainer.drain();
    t.equal(drainer.drain(), first, "the preStop hook and SIGTERM wait for the same drain");
    t.ok(drainer.draining);
    t.same(events, [true], "started once");

    drainer.cancel();
    t.equal(await first, false, "a cancelled drain did not end cleanly");
    t.notOk(drainer.draining, "ready again");
    t.same(events, [true, false]);
    drainer.cancel();
    t.same(events, [true, false], "cancelling nothing is a no-op");

    const second = drainer.drain();
    t.not(second, first, "a new drain");
    idle = true;
    t.equal(await second, true);
    t.ok(drainer.draining, "a finished drain stays drained");
    t.equal(drainer.drain(), second, "and later calls get its result");
  },
);
