import t from "tap";
import { backoffDelay } from "../../../platform/kubernetes/backoff.ts";
import { type Clock, WorkQueue } from "../../../platform/kubernetes/work-queue.ts";

/** A clock whose time moves only when the test says. */
function fakeClock() {
  let now = 0;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock & { advance(ms: number): Promise<void>; pending(): number } = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++nextId;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, timer]) => timer.at <= until)
          .sort((a, b) => a[1].at - b[1].at);
        if (due.length === 0) break;
        const [id, timer] = due[0];
        timers.delete(id);
        now = timer.at;
        timer.fn();
        await settle();
      }
      now = until;
      await settle();
    },
    pending: () => timers.size,
  };
  return clock;
}

/** Lets queued microtasks and resolved work run. */
async function settle() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A reconcile whose calls the test finishes by hand. */
function manual() {
  const calls: { key: string; resolve(): void; reject(e: Error): void }[] = [];
  const reconcile = (key: string) =>
    new Promise<void>((resolve, reject) => calls.push({ key, resolve, reject }));
  return { calls, reconcile };
}

const backoff = { baseMs: 100, maxMs: 1000 };

t.test("backoffDelay doubles, caps and jitters", async (t) => {
  t.same(
    [0, 1, 2, 3, 4, 5].map((n) => backoffDelay(backoff, n)),
    [0, 100, 200, 400, 800, 1000],
  );
  t.equal(
    backoffDelay({ baseMs: 100, maxMs: 1000, jitter: 0.5 }, 2, () => 1),
    300,
    "jitter stretches",
  );
  t.equal(
    backoffDelay({ baseMs: 100, maxMs: 1000, jitter: 0.5 }, 4, () => 1),
    1000,
    "the cap holds after jitter",
  );
  t.equal(backoffDelay(backoff, 5000), 1000, "no overflow for long failure runs");
});

t.test("a key waiting is not queued twice", async (t) => {
  const { calls, reconcile } = manual();
  const q = new WorkQueue(reconcile, { concurrency: 1, clock: fakeClock(), backoff });
  q.add("a");
  q.add("b");
  q.add("a");
  t.equal(q.length, 2);
  await settle();
  t.same(
    calls.map((c) => c.key),
    ["a"],
    "one at a time",
  );
  q.add("b");
  t.equal(q.length, 1, "b still once");
  calls[0].resolve();
  await settle();
  t.same(
    calls.map((c) => c.key),
    ["a", "b"],
  );
  calls[1].resolve();
  await q.idle();
  t.equal(calls.length, 2, "nothing more");
});

t.test("one key is never worked on twice at once; added meanwhile, it runs again after", async (t) => {
  const { calls, reconcile } = manual();
  const q = new WorkQueue(reconcile, { concurrency: 4, clock: fakeClock(), backoff });
  q.add("a");
  await settle();
  q.add("a");
  q.add("a");
  await settle();
  t.equal(calls.length, 1, "not handed to a second worker");
  t.equal(q.processing, 1);
  calls[0].resolve();
  await settle();
  t.equal(calls.length, 2, "requeued once for the adds made while it ran");
  calls[1].resolve();
  await q.idle();
  t.equal(calls.length, 2);
});

t.test("concurrency bounds the keys worked on", async (t) => {
  const { calls, reconcile } = manual();
  const q = new WorkQueue(reconcile, { concurrency: 2, clock: fakeClock(), backoff });
  for (const k of ["a", "b", "c", "d", "e"]) q.add(k);
  await settle();
  t.same(
    calls.map((c) => c.key),
    ["a", "b"],
  );
  calls[1].resolve();
  await settle();
  t.same(
    calls.map((c) => c.key),
    ["a", "b", "c"],
    "FIFO as slots free",
  );
  t.equal(q.processing, 2);
  for (let i = 0; i < 5; i++) {
    for (const c of calls) c.resolve();
    await settle();
  }
  await q.idle();
  t.same(calls.map((c) => c.key).sort(), ["a", "b", "c", "d", "e"]);
});

t.test("failures back off per key, exponentially; success forgets", async (t) => {
  const clock = fakeClock();
  let failing = true;
  const runs: { key: string; at: number }[] = [];
  const q = new WorkQueue(
    async (key) => {
      runs.push({ key, at: clock.now() });
      if (key === "bad" && failing) throw new Error("not yet");
    },
    { concurrency: 2, clock, backoff },
  );
  q.add("bad");
  q.add("good");
  await settle();
  t.same(runs, [
    { key: "bad", at: 0 },
    { key: "good", at: 0 },
  ]);
  t.equal(q.numRequeues("bad"), 1);
  t.equal(q.numRequeues("good"), 0);
  await clock.advance(99);
  t.equal(runs.length, 2, "not before its back-off");
  await clock.advance(1);
  t.same(runs.at(-1), { key: "bad", at: 100 });
  await clock.advance(200);
  t.same(runs.at(-1), { key: "bad", at: 300 }, "then 200 ms");
  await clock.advance(400);
  t.same(runs.at(-1), { key: "bad", at: 700 }, "then 400 ms");
  t.equal(q.numRequeues("bad"), 4, "four failures in a row");
  failing = false;
  await clock.advance(800);
  t.same(runs.at(-1), { key: "bad", at: 1500 });
  t.equal(q.numRequeues("bad"), 0, "forgotten on success");
  t.equal(clock.pending(), 0, "nothing more scheduled");
  q.addRateLimited("bad");
  t.equal(q.numRequeues("bad"), 1, "the next failure starts from the base delay");
  await clock.advance(100);
  t.same(runs.at(-1), { key: "bad", at: 1600 });
  t.equal(runs.filter((r) => r.key === "good").length, 1, "the other key was not held back");
});

t.test("a plain add brings a backed-off key forward; addAfter keeps the sooner time", async (t) => {
  const clock = fakeClock();
  const runs: number[] = [];
  const q = new WorkQueue(
    async () => {
      runs.push(clock.now());
    },
    { clock, backoff },
  );
  q.addAfter("k", 500);
  q.addAfter("k", 200);
  q.addAfter("k", 900);
  await clock.advance(200);
  t.same(runs, [200], "the sooner of the delayed adds");
  await clock.advance(1000);
  t.same(runs, [200], "the later ones were dropped");
  q.addRateLimited("k");
  q.addRateLimited("k");
  q.add("k");
  await settle();
  t.same(runs, [200, 1200], "an add does not wait for the back-off");
});

t.test("shutDown drops waiting and delayed keys and waits for work in hand", async (t) => {
  const clock = fakeClock();
  const { calls, reconcile } = manual();
  const q = new WorkQueue(reconcile, { concurrency: 1, clock, backoff });
  q.add("a");
  q.add("b");
  q.addAfter("c", 100);
  await settle();
  let done = false;
  const stopping = q.shutDown().then(() => (done = true));
  await settle();
  t.notOk(done, "a is still being worked on");
  calls[0].reject(new Error("fails during shutdown"));
  await stopping;
  await clock.advance(1000);
  t.same(
    calls.map((c) => c.key),
    ["a"],
    "b, c and a's retry never ran",
  );
  q.add("d");
  await settle();
  t.equal(calls.length, 1, "adds after shutdown are ignored");
});
