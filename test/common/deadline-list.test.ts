import t from "tap";
import { type DeadlineEntry, DeadlineList } from "../../common/http/deadline-list.ts";

function entry(startedAt: number, log: number[]): DeadlineEntry {
  return { startedAt, prevDeadline: null, nextDeadline: null, expire: () => log.push(startedAt) };
}

t.test("expires only entries that started before the cutoff, oldest first", async (t) => {
  const list = new DeadlineList();
  const log: number[] = [];
  for (const start of [10, 20, 30, 40]) list.add(entry(start, log));
  t.equal(list.expireStartedBefore(25), 2);
  t.same(log, [10, 20]);
  t.equal(list.size, 2);
});

t.test("removed entries never expire; removal anywhere keeps the order", async (t) => {
  const list = new DeadlineList();
  const log: number[] = [];
  const entries = [1, 2, 3, 4, 5].map((start) => entry(start, log));
  for (const e of entries) list.add(e);
  list.remove(entries[0]);
  list.remove(entries[2]);
  list.remove(entries[4]);
  list.remove(entries[4]); // twice is harmless
  t.equal(list.size, 2);
  list.expireStartedBefore(100);
  t.same(log, [2, 4]);
  t.equal(list.size, 0);
  list.add(entry(7, log));
  t.equal(list.size, 1, "usable again after emptying");
});
