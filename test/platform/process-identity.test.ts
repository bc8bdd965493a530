import { spawn } from "node:child_process";
import t from "tap";
import {
  identify,
  processState,
  signalProcess,
  startTimeOf,
  waitGone,
} from "../../platform/local/process-identity.ts";

t.test("a process is itself only while its pid and start time match", async (t) => {
  const self = identify(process.pid);
  t.equal(processState(self), "same");
  if (process.platform === "linux") {
    t.type(startTimeOf(process.pid), "string");
    t.equal(processState({ pid: process.pid, start: "1" }), "other", "a reused pid is someone else");
    t.notOk(signalProcess({ pid: process.pid, start: "1" }, "SIGTERM"), "and is never signalled");
  }
});

t.test("signalProcess stops a whole process group; waitGone sees it go", async (t) => {
  // A shell (the group leader) with a child of its own: both must go.
  const child = spawn("/bin/sh", ["-c", "sleep 300 & wait"], { detached: true, stdio: "ignore" });
  const leader = identify(child.pid as number);
  t.teardown(() => signalProcess(leader, "SIGKILL", true));
  t.ok(signalProcess(leader, "SIGTERM", true));
  t.ok(await waitGone(leader, 10_000));
  t.equal(processState(leader), "gone");
  t.notOk(signalProcess(leader, "SIGTERM"), "nothing left to signal");
});

t.test(
  "on Linux an identity without a start time is gone, never signalled",
  { skip: process.platform !== "linux" && "needs /proc" },
  async (t) => {
    // An app that was already a zombie when identified has no start time: its pid may be reused.
    t.equal(processState({ pid: process.pid, start: undefined }), "gone");
    t.notOk(signalProcess({ pid: process.pid, start: undefined }, "SIGCONT", true), "no group kill");
  },
);
