import t from "tap";
import { machineCapacity, planAdmissions, type RevisionSlots } from "../../platform/local/capacity.ts";

const slots = (key: string, extra: Partial<RevisionSlots> = {}): RevisionSlots => ({
  key,
  pods: 0,
  live: 0,
  starting: 0,
  pending: 0,
  waitingSince: Number.POSITIVE_INFINITY,
  ...extra,
});

t.test("machineCapacity: 4 pods per core, bounded by 80 % of free memory, a start per core", async (t) => {
  t.same(machineCapacity({ cores: 2, availableMemoryMb: 16_000 }), { maxPods: 8, maxStarting: 2 });
  t.same(machineCapacity({ cores: 16, availableMemoryMb: 100_000 }), { maxPods: 64, maxStarting: 16 });
  // 1,000 MB free: 800 usable, 150 each.
  t.same(machineCapacity({ cores: 8, availableMemoryMb: 1000 }), { maxPods: 5, maxStarting: 5 });
  t.same(machineCapacity({ cores: 8, availableMemoryMb: 1000 }, 400), { maxPods: 2, maxStarting: 2 });
  t.same(
    machineCapacity({ cores: 2, availableMemoryMb: 50 }),
    { maxPods: 1, maxStarting: 1 },
    "never below one pod",
  );
});

t.test("planAdmissions: starts what fits, no more than maxStarting at once", async (t) => {
  const capacity = { maxPods: 8, maxStarting: 2 };
  t.same(planAdmissions(capacity, [slots("a", { pending: 10, waitingSince: 1 })]), { start: ["a", "a"] });
  t.same(
    planAdmissions(capacity, [slots("a", { pods: 2, live: 2, starting: 1, pending: 8, waitingSince: 1 })]),
    { start: ["a"] },
    "one start slot is held by a pod still starting",
  );
  t.same(
    planAdmissions(capacity, [slots("a", { pods: 7, live: 7, pending: 5, waitingSince: 1 })]),
    { start: ["a"] },
    "one slot left",
  );
  t.same(
    planAdmissions(capacity, [slots("a", { pods: 8, live: 6, pending: 2, waitingSince: 1 })]),
    { start: [] },
    "terminating pods hold their slots until they are gone",
  );
  t.same(planAdmissions(capacity, [slots("a", { pods: 3, live: 3 })]), { start: [] }, "nothing pending");
});

t.test("planAdmissions: fewest pods first, then whoever waits longest", async (t) => {
  const capacity = { maxPods: 10, maxStarting: 3 };
  t.same(
    planAdmissions(capacity, [
      slots("busy", { pods: 6, live: 6, pending: 20, waitingSince: 1 }),
      slots("cold", { pending: 1, waitingSince: 50 }),
    ]).start,
    ["cold", "busy", "busy"],
    "a revision at zero gets its first pod before another gets its 7th, though it came later",
  );
  t.same(
    planAdmissions(capacity, [
      slots("b", { pods: 1, live: 1, pending: 3, waitingSince: 20 }),
      slots("a", { pods: 1, live: 1, pending: 3, waitingSince: 10 }),
    ]).start,
    ["a", "b", "a"],
    "even counts alternate, the longest waiting first",
  );
  t.same(
    planAdmissions(capacity, [
      slots("b", { pending: 1, waitingSince: 10 }),
      slots("a", { pending: 1, waitingSince: 10 }),
    ]).start,
    ["a", "b"],
    "a full tie goes by key, so the answer never depends on the order given",
  );
});

t.test("planAdmissions: a full machine preempts for a revision far behind", async (t) => {
  const capacity = { maxPods: 4, maxStarting: 2 };
  t.same(
    planAdmissions(capacity, [
      slots("busy", { pods: 4, live: 4, pending: 30, waitingSince: 1 }),
      slots("cold", { pending: 1, waitingSince: 5 }),
    ]),
    { start: [], preempt: "busy" },
    "a revision at zero does not wait for the other's scale-down",
  );
  t.same(
    planAdmissions(capacity, [
      slots("busy", { pods: 4, live: 3, pending: 30, waitingSince: 1 }),
      slots("cold", { pending: 1, waitingSince: 5 }),
    ]),
    { start: [] },
    "not while a pod is terminating: its slot goes to the first in line",
  );
  t.same(
    planAdmissions(capacity, [
      slots("a", { pods: 2, live: 2, pending: 5, waitingSince: 1 }),
      slots("b", { pods: 2, live: 2, pending: 5, waitingSince: 1 }),
    ]),
    { start: [] },
    "even shares stay: nobody is two pods behind",
  );
  t.same(
    planAdmissions(capacity, [
      slots("a", { pods: 3, live: 3, pending: 5, waitingSince: 1 }),
      slots("b", { pods: 1, live: 1, pending: 5, waitingSince: 1 }),
    ]),
    { start: [], preempt: "a" },
    "uneven shares even out, one pod at a time",
  );
  t.same(
    planAdmissions(capacity, [slots("a", { pods: 4, live: 4, pending: 5, waitingSince: 1 })]),
    { start: [] },
    "a revision never preempts itself",
  );
});
