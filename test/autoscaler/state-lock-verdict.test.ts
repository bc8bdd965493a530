import t from "tap";
import {
  formatLockHolder,
  lockRefusal,
  lockVerdict,
  parseLockHolder,
  UNWRITTEN_LOCK_GRACE_MS,
} from "../../autoscaler/state-lock-verdict.ts";

t.test("a lock file names its holder by pid and start time", async (t) => {
  t.same(parseLockHolder(formatLockHolder({ pid: 42, start: "123456" })), { pid: 42, start: "123456" });
  t.same(parseLockHolder(formatLockHolder({ pid: 42, start: undefined })), { pid: 42, start: undefined });
  for (const garbled of ["", "42", "x 1\n", "0 1\n", "-3 1\n", "42 1 extra\n"])
    t.equal(parseLockHolder(garbled), undefined, JSON.stringify(garbled));
});

t.test("a live holder is refused; a dead one, a reused pid, or our own pid is taken over", async (t) => {
  const holder = { pid: 42, start: "123456" };
  const found = (holderState: "same" | "gone" | "other") => ({ holder, holderState, ageMs: 60_000 });
  t.same(lockVerdict(found("same"), 7), { action: "refuse", pid: 42 });
  t.same(lockVerdict(found("gone"), 7), { action: "take-over" }, "its process has exited");
  t.same(lockVerdict(found("other"), 7), { action: "take-over" }, "its pid is now another process");
  t.same(lockVerdict(found("same"), 42), { action: "take-over" }, "our pid: an earlier process of ours");
});

t.test("a lock with no holder in it: being written while young, taken over once old", async (t) => {
  const unwritten = (ageMs: number) => ({ holder: undefined, holderState: undefined, ageMs });
  t.same(lockVerdict(unwritten(10), 7), { action: "wait" });
  t.same(lockVerdict(unwritten(UNWRITTEN_LOCK_GRACE_MS + 1), 7), { action: "take-over" });
});

t.test("the refusal names the holder, the directory and the way out", async (t) => {
  t.equal(
    lockRefusal(42, "/srv/.sluice"),
    "another autoscaler (pid 42) uses the state directory /srv/.sluice; stop it or use --state-dir (SLUICE_STATE_DIR) to run a second one",
  );
});
