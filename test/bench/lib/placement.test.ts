import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import t from "tap";
import { Pinning, parseCpuList, splitCpus } from "../../../bench/lib/placement.ts";

const allowedCpus = (pid: number) =>
  /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];

t.test("taskset's CPU lists", async (t) => {
  t.same(parseCpuList("0-2"), [0, 1, 2]);
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
    const before = parseCpuList(allowedCpus(process.pid) ?? "");
    const cpus = (pid: number) => parseCpuList(allowedCpus(pid) ?? ""); // the kernel writes ranges: "0-2"
    const { measured, rest } = splitCpus(before);
    const [measuredCpus, restCpus] = [parseCpuList(measured), parseCpuList(rest)];
    const target = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    await Promise.all([once(target, "spawn"), once(other, "spawn")]);
    const pids = [target.pid as number, other.pid as number];

    const pinning = new Pinning(() => pids);
    t.teardown(() => {
      pinning.stop(); // also when an assertion below throws
      target.kill();
      other.kill();
    });
    pinning.start();
    t.same(cpus(process.pid), restCpus, "the bench (and the load tool it spawns) on the rest");
    pinning.measure([pids[0]]);
    t.same(cpus(pids[0]), measuredCpus, "the target on the measured CPU");
    t.same(cpus(pids[1]), restCpus, "every other process on the rest");
    pinning.measure([pids[1]]);
    t.same(cpus(pids[1]), measuredCpus, "turns change places");
    t.same(cpus(pids[0]), restCpus);
    pinning.stop();
    for (const pid of [process.pid, ...pids]) t.same(cpus(pid), before, `pid ${pid}: every CPU again`);
  },
);
