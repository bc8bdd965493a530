// What a pod's processes want of the CPU (platform/local/cpu-demand.ts), from real processes: a
// process busy in a grandchild (an app started through `sh -c`) shows it, a sleeping one does not.
import { spawn } from "node:child_process";
import t from "tap";
import { cpuDemandMs } from "../../platform/local/cpu-demand.ts";
import { waitFor } from "../helpers/processes.ts";

type Tap = { teardown(fn: () => unknown): void };

/** `sh -c` running node with `script`: the shell is the root, node its child. */
function shellRunning(t: Tap, script: string) {
  // Its own process group, so that the teardown ends the node child with the shell.
  // "; :" keeps the shell, so that node is its child whatever sh execs.
  const child = spawn("sh", ["-c", `"${process.execPath}" -e '${script}'; :`], {
    stdio: "ignore",
    detached: true,
  });
  t.teardown(() => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      // gone already
    }
  });
  return child.pid as number;
}

t.test("a shell whose node child spins: its demand grows by about the time that passed", async (t) => {
  // Bounded, so that a run killed before its teardown leaves nothing spinning for long.
  const pid = shellRunning(
    t,
    "const end = Date.now() + 15000; while (Date.now() < end) Math.sqrt(Math.random())",
  );
  const first = await waitFor("the node child running", () => {
    const ms = cpuDemandMs(pid);
    return ms !== undefined && ms > 50 ? ms : undefined;
  });
  const since = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const grown = (cpuDemandMs(pid) ?? 0) - first;
  const elapsed = Date.now() - since;
  // Run or waiting to run, the spinning child wants the CPU all the time.
  t.ok(grown >= elapsed * 0.8, `grew ${grown.toFixed(0)} ms in ${elapsed} ms`);
});

t.test("a shell whose node child sleeps: its demand stays put", async (t) => {
  const pid = shellRunning(t, "setTimeout(() => {}, 15000)");
  // Past node's own start, which costs CPU.
  let last = -1;
  await waitFor(
    "the node child idle",
    () => {
      const ms = cpuDemandMs(pid) ?? -1;
      const still = ms === last && ms > 0;
      last = ms;
      return still;
    },
    { everyMs: 200 },
  );
  const before = cpuDemandMs(pid) ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok((cpuDemandMs(pid) ?? 0) - before < 20, "under 20 ms in 300");
});

t.test("a process that is gone has no figure", async (t) => {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("close", resolve));
  t.equal(cpuDemandMs(child.pid as number), undefined);
});
