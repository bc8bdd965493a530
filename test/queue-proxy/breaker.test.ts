import t from "tap";
import { Breaker, type BreakerWaiter } from "../../queue-proxy/breaker.ts";

function waiter(log: string[], name: string): BreakerWaiter {
  return { admit: () => log.push(name) };
}

t.test("admits up to capacity, queues up to depth, then rejects", async (t) => {
  const breaker = new Breaker(2, 3);
  const log: string[] = [];
  t.equal(breaker.enter(waiter(log, "a")), "admitted");
  t.equal(breaker.enter(waiter(log, "b")), "admitted");
  t.equal(breaker.enter(waiter(log, "c")), "queued");
  t.equal(breaker.enter(waiter(log, "d")), "queued");
  t.equal(breaker.enter(waiter(log, "e")), "queued");
  t.equal(breaker.enter(waiter(log, "f")), "rejected");
  t.equal(breaker.inFlight, 2);
  t.equal(breaker.queued, 3);
  t.same(log, [], "nobody queued was admitted yet");
});

t.test("release hands the slot to the longest waiter (FIFO)", async (t) => {
  const breaker = new Breaker(1, 10);
  const log: string[] = [];
  breaker.enter(waiter(log, "first"));
  for (const name of ["w1", "w2", "w3"]) breaker.enter(waiter(log, name));
  breaker.release();
  t.same(log, ["w1"]);
  breaker.release();
  breaker.release();
  t.same(log, ["w1", "w2", "w3"]);
  t.equal(breaker.inFlight, 1);
  breaker.release();
  t.equal(breaker.inFlight, 0);
  t.equal(breaker.queued, 0);
});

t.test("a waiter that leaves is skipped and frees its queue place", async (t) => {
  const breaker = new Breaker(1, 2);
  const log: string[] = [];
  breaker.enter(waiter(log, "running"));
  const gone = waiter(log, "gone");
  breaker.enter(gone);
  breaker.enter(waiter(log, "stays"));
  t.equal(breaker.enter(waiter(log, "x")), "rejected", "queue full");
  t.equal(breaker.leave(gone), true);
  t.equal(breaker.leave(gone), false, "leaving twice is harmless");
  t.equal(breaker.enter(waiter(log, "late")), "queued", "the place it left is free");
  breaker.release();
  t.same(log, ["stays"]);
});

t.test("capacity 0 is unlimited and never queues", async (t) => {
  const breaker = new Breaker(0, 0);
  let admitted = 0;
  for (let i = 0; i < 10_000; i++) if (breaker.enter(waiter([], "x")) === "admitted") admitted++;
  t.equal(admitted, 10_000);
  t.equal(breaker.inFlight, 10_000);
});

t.test("queue depth 0 rejects as soon as capacity is used", async (t) => {
  const breaker = new Breaker(1, 0);
  t.equal(breaker.enter(waiter([], "a")), "admitted");
  t.equal(breaker.enter(waiter([], "b")), "rejected");
});

t.test("a newcomer never jumps the queue when a slot frees up", async (t) => {
  const breaker = new Breaker(1, 5);
  const log: string[] = [];
  breaker.enter(waiter(log, "a"));
  breaker.enter(waiter(log, "queued"));
  breaker.release(); // slot goes to "queued" synchronously
  t.equal(breaker.enter(waiter(log, "newcomer")), "queued");
  t.same(log, ["queued"]);
});
