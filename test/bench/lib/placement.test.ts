import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import t from "tap";
import { Pinning, parseCpuList, splitCpus } from "../../../bench/lib/placement.ts";

const allowedCpus = (pid: number) =>
  /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];

t.test("taskset's CPU lists", async (t) => {
  t.same(parseCpuList("0"), [0]);
  t.same(parseCpuList("0-3,6\n"), [0, 1, 2, 3, 6]);
  t.throws(() => parseCpuList("0-a"), /cannot read CPU list "0-a"/);
});

t.test("the measured target gets the last CPU, the rest the others", async (t) => {
  t.same(splitCpus([0, 1]), { measured: "1", rest: "0" });
  t.same(splitCpus([2, 3, 5]), { measured: "5", rest: "2,3" });
  t.throws(() => splitCpus([0]), /pinned placement needs 2 CPUs; this process may use 1/);
});

t.test(
  "pinning moves a target's processes and gives every CPU back at the end",
  { skip: availableParallelism() < 2 ? "one CPU: nothing to pin apart" : false },
  async (t) => {
    const before = allowedCpus(process.pid) ?? "";
    const { measured, rest } = splitCpus(parseCpuList(before));
    const target = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    t.teardown(() => {
      target.kill();
      other.kill();
    });
    await Promise.all([once(target, "spawn"), once(other, "spawn")]);
    const pids = [target.pid as number, other.pid as number];

    const pinning = new Pinning();
    pinning.start();
    t.equal(allowedCpus(process.pid), rest, "the bench (and the load tool it spawns) on the rest");
    pinning.measure([pids[0]], pids);
    t.equal(allowedCpus(pids[0]), measured, "the target on the measured CPU");
    t.equal(allowedCpus(pids[1]), rest, "another target's process on the rest");
    pinning.measure([pids[1]], pids);
    t.equal(allowedCpus(pids[1]), measured, "turns change places");
    t.equal(allowedCpus(pids[0]), rest);
    pinning.stop(pids);
    for (const pid of [process.pid, ...pids])
      t.equal(allowedCpus(pid), before, `pid ${pid}: every CPU again`);
  },
);
