import t from "tap";
import { PodPicker, type TrackedPod } from "../../activator/pod-picker.ts";
import { type ThrottledWaiter, Throttler } from "../../activator/throttler.ts";

function waiter(log: string[], name: string): ThrottledWaiter {
  return {
    origin: undefined,
    admit() {
      log.push(`${name}→${this.origin}`);
    },
    fail: (status, message) => log.push(`${name}:${status}:${message}`),
  };
}

const slots = (...inFlight: number[]): TrackedPod[] =>
  inFlight.map((n, i) => ({ url: `p${i}`, inFlight: n, usable: true }));

t.test("first-available fills the earliest pod with room (containerConcurrency 1–3)", async (t) => {
  const picker = new PodPicker(2);
  t.equal(picker.policy, "first-available");
  t.equal(picker.pick(slots(0, 0))?.url, "p0");
  t.equal(picker.pick(slots(2, 1))?.url, "p1");
  t.equal(picker.pick(slots(2, 2)), undefined, "all full");
  t.equal(picker.pick([{ url: "x", inFlight: 0, usable: false }]), undefined, "pods not usable get nothing");
});

t.test("round robin above 3 spreads requests evenly", async (t) => {
  const picker = new PodPicker(10);
  t.equal(picker.policy, "round-robin");
  const pods = slots(0, 0, 0);
  const picks = Array.from({ length: 6 }, () => picker.pick(pods)?.url);
  t.same(picks, ["p0", "p1", "p2", "p0", "p1", "p2"]);
});

t.test("power of two choices for unlimited concurrency takes the less busy of two", async (t) => {
  const sequence = [0, 0.5]; // first p0, then the other
  const picker = new PodPicker(0, () => sequence.shift() ?? 0);
  t.equal(picker.policy, "two-choices");
  t.equal(picker.pick(slots(5, 1))?.url, "p1");
});

t.test("capacity is usable pods × containerConcurrency; the rest waits in FIFO order", async (t) => {
  const budget = { waiting: 0, max: 100 };
  const throttler = new Throttler(1, budget);
  const log: string[] = [];
  const waiters = ["a", "b", "c"].map((name) => waiter(log, name));
  for (const w of waiters) t.equal(throttler.enter(w), "queued", "no pods yet: everyone waits");
  t.equal(budget.waiting, 3);
  t.same(throttler.setEndpoints(["pod1", "pod2"]), ["pod1", "pod2"]);
  t.same(log, [], "not before markUsable");
  throttler.markUsable("pod1");
  t.same(log, ["a→pod1"]);
  throttler.markUsable("pod2");
  t.same(log, ["a→pod1", "b→pod2"]);
  t.equal(throttler.inFlight, 2);
  throttler.release(waiters[0]);
  t.same(log.at(-1), "c→pod1", "a slot freed on pod1 goes to the next in line");
  t.equal(budget.waiting, 0);
});

t.test("the activator-wide budget bounds waiting requests; leaving frees a place", async (t) => {
  const budget = { waiting: 0, max: 2 };
  const one = new Throttler(1, budget);
  const two = new Throttler(1, budget);
  const log: string[] = [];
  const first = waiter(log, "1");
  t.equal(one.enter(first), "queued");
  t.equal(two.enter(waiter(log, "2")), "queued");
  t.equal(two.enter(waiter(log, "3")), "rejected", "shared budget exhausted");
  t.ok(one.leave(first));
  t.equal(two.enter(waiter(log, "4")), "queued");
});

t.test("a failed revision turns every waiter away with the reason", async (t) => {
  const budget = { waiting: 0, max: 10 };
  const throttler = new Throttler(1, budget);
  const log: string[] = [];
  throttler.enter(waiter(log, "a"));
  throttler.enter(waiter(log, "b"));
  throttler.failWaiting(503, "cannot start");
  t.same(log, ["a:503:cannot start", "b:503:cannot start"]);
  t.equal(budget.waiting, 0);
});

t.test("removed pods get no new requests; their in-flight ones still release cleanly", async (t) => {
  const budget = { waiting: 0, max: 10 };
  const throttler = new Throttler(1, budget);
  const log: string[] = [];
  throttler.setEndpoints(["pod1"]);
  throttler.markUsable("pod1");
  const a = waiter(log, "a");
  t.equal(throttler.enter(a), "admitted");
  throttler.setEndpoints([]);
  t.equal(throttler.enter(waiter(log, "b")), "queued");
  throttler.release(a);
  t.equal(throttler.inFlight, 0);
  t.equal(throttler.waiting, 1, "b still waits for a pod");
});
