import t from "tap";
import { cpuPerRequest, statCpuTicks, sumCpu, ticksToMicros } from "../../../bench/lib/cpu.ts";
import { cpuMicros } from "../../../bench/lib/proc.ts";

// proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime …
const stat = (comm: string, utime: number, stime: number) =>
  `1234 (${comm}) S 1 1234 1234 0 -1 4194560 100 0 0 0 ${utime} ${stime} 7 8 20 0 1 0 500 1000 200`;

t.test("statCpuTicks: utime + stime, whatever the command name holds", async (t) => {
  t.equal(statCpuTicks(stat("node", 150, 50)), 200);
  t.equal(statCpuTicks(stat("a b) S 9 9 (c", 3, 4)), 7, "spaces and parentheses in the name");
  t.equal(statCpuTicks(stat("node", 0, 0)), 0);
  t.throws(() => statCpuTicks("garbage"));
});

t.test("ticksToMicros: clock ticks at the system's rate", async (t) => {
  t.equal(ticksToMicros(250, 100), 2_500_000);
  t.equal(ticksToMicros(1, 1000), 1000);
});

t.test("cpuPerRequest: each process's CPU over the interval, per request completed", async (t) => {
  const before = { router: 1_000_000, "queue-proxy": 2_000_000 };
  const after = { router: 1_300_000, "queue-proxy": 2_200_000 };
  const per = cpuPerRequest(before, after, 10_000);
  t.same(per, { router: 30, "queue-proxy": 20 });
  t.equal(sumCpu(per), 50, "the path's cost is the sum of its processes");
  const none = cpuPerRequest(before, after, 0);
  t.ok(Number.isNaN(none.router) && Number.isNaN(none["queue-proxy"]), "no requests: no figure");
  t.ok(Number.isNaN(cpuPerRequest({}, { nginx: 5 }, 1).nginx), "a process missing before: no figure");
});

t.test("cpuMicros reads this process's own CPU, and it only grows", async (t) => {
  const first = cpuMicros(process.pid);
  const until = Date.now() + 50;
  while (Date.now() < until) {
    // spin: use some CPU
  }
  const second = cpuMicros(process.pid);
  t.ok(first > 0 && second >= first, `${first} then ${second}`);
});
