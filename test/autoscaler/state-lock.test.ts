import { spawn } from "node:child_process";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { lockStateDir, STATE_LOCK_FILE } from "../../autoscaler/state-lock.ts";
import { formatLockHolder } from "../../autoscaler/state-lock-verdict.ts";
import { identify, waitGone } from "../../platform/local/process-identity.ts";
import { tempStateDir } from "../helpers/platform.ts";

/** Another live process (the lock's holder in these tests), killed when the test ends. */
function otherProcess(t: { teardown(fn: () => unknown): void }) {
  const child = spawn("sleep", ["300"], { stdio: "ignore" });
  t.teardown(() => child.kill("SIGKILL"));
  return child;
}

t.test("the lock is taken in an empty state directory and released to nothing", async (t) => {
  const dir = join(tempStateDir(t, "sluice-lock-"), "not-yet");
  const lock = await lockStateDir(dir);
  t.ok(lock.held);
  const path = join(dir, STATE_LOCK_FILE);
  t.equal(readFileSync(path, "utf8"), formatLockHolder(identify(process.pid)), "pid and start time");
  if (lock.held) lock.release();
  t.notOk(existsSync(path), "released");
});

t.test("a live holder keeps it; once it is gone its lock is taken over", async (t) => {
  const dir = tempStateDir(t, "sluice-lock-");
  const path = join(dir, STATE_LOCK_FILE);
  const child = otherProcess(t);
  const holder = identify(child.pid as number);
  writeFileSync(path, formatLockHolder(holder));
  t.same(await lockStateDir(dir), { held: false, pid: child.pid }, "refused");
  t.equal(readFileSync(path, "utf8"), formatLockHolder(holder), "and left alone");

  child.kill("SIGKILL");
  await waitGone(holder, 5_000);
  const lock = await lockStateDir(dir);
  t.ok(lock.held, "a dead holder's lock is taken over");
  t.equal(readFileSync(path, "utf8"), formatLockHolder(identify(process.pid)));
});

t.test(
  "a lock whose pid now belongs to another process is taken over",
  { skip: process.platform !== "linux" && "needs /proc" },
  async (t) => {
    const dir = tempStateDir(t, "sluice-lock-");
    const child = otherProcess(t);
    writeFileSync(join(dir, STATE_LOCK_FILE), formatLockHolder({ pid: child.pid as number, start: "1" }));
    t.ok((await lockStateDir(dir)).held);
  },
);

t.test("an empty lock file: waited for while young, taken over once old", async (t) => {
  const dir = tempStateDir(t, "sluice-lock-");
  const path = join(dir, STATE_LOCK_FILE);
  writeFileSync(path, "");
  const old = new Date(Date.now() - 60_000);
  utimesSync(path, old, old);
  t.ok((await lockStateDir(dir)).held, "old: a writer that died before writing");
  writeFileSync(path, "");
  const started = Date.now();
  t.ok((await lockStateDir(dir, { timeoutMs: 300 })).held, "young: taken after the wait");
  t.ok(Date.now() - started >= 250, "after waiting for a writer");
});

t.test("release leaves a lock that is no longer ours", async (t) => {
  const dir = tempStateDir(t, "sluice-lock-");
  const path = join(dir, STATE_LOCK_FILE);
  const lock = await lockStateDir(dir);
  const child = otherProcess(t);
  writeFileSync(path, formatLockHolder(identify(child.pid as number)));
  if (lock.held) lock.release();
  t.ok(existsSync(path), "someone else's lock stays");
});
