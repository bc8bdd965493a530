// Whether a starting pod still uses the machine: pure samples, and /proc read for real processes.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import {
  busyNanos,
  QUIET_SHARE,
  QUIET_WINDOW_MS,
  StartActivity,
} from "../../platform/local/start-activity.ts";
import { waitFor } from "../helpers/processes.ts";

const MS = 1e6;

t.test("StartActivity: settles after a window with less than the quiet share of a core", async (t) => {
  const activity = new StartActivity();
  t.notOk(activity.sample(0, 0), "the first look only sets the baseline");
  t.notOk(activity.sample(QUIET_WINDOW_MS - 1, 0), "a window too short to tell");
  t.notOk(activity.sample(QUIET_WINDOW_MS, 0.9 * QUIET_WINDOW_MS * MS), "busy: 90 % of a core");
  const busyUntil = 0.9 * QUIET_WINDOW_MS * MS;
  const quietFor = 2 * QUIET_WINDOW_MS;
  t.notOk(
    activity.sample(QUIET_WINDOW_MS + quietFor, busyUntil + QUIET_SHARE * quietFor * MS),
    "at the quiet share exactly: still busy",
  );
  const at = 2 * QUIET_WINDOW_MS + quietFor;
  t.ok(activity.sample(at, busyUntil + QUIET_SHARE * quietFor * MS + 1 * MS), "1 ms in a window: quiet");
  t.ok(activity.settled);
  t.ok(activity.sample(at + QUIET_WINDOW_MS, 1e12), "settled for good: a later burst takes no slot back");
});

t.test("StartActivity: what cannot be read is busy, and starts the window again", async (t) => {
  const activity = new StartActivity();
  t.notOk(activity.sample(0, undefined), "not spawned yet");
  t.notOk(activity.sample(100, 0), "spawned: the baseline");
  t.notOk(activity.sample(200, undefined), "unreadable");
  t.notOk(activity.sample(300, 5 * MS), "a new baseline, not a window");
  t.notOk(activity.sample(400, 1 * MS), "less than before (other processes): a new baseline");
  t.ok(activity.sample(400 + QUIET_WINDOW_MS, 1 * MS), "then a quiet window");
});

t.test(
  "busyNanos: a spinning process stays busy, a sleeping one goes quiet",
  { skip: process.platform !== "linux" && "needs /proc" },
  async (t) => {
    const spinner = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    // A sleeper that forks a spinner of its own: the child's time counts as the pod's.
    const parent = spawn(
      process.execPath,
      [
        "-e",
        `require("node:child_process").spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }); setInterval(() => {}, 1e6)`,
      ],
      { stdio: "ignore" },
    );
    const sleeper = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { stdio: "ignore" });
    t.teardown(() => {
      spinner.kill("SIGKILL");
      sleeper.kill("SIGKILL");
      parent.kill("SIGKILL");
    });
    const quiet = new StartActivity();
    await waitFor("the sleeper quiet", () => quiet.sample(Date.now(), busyNanos([sleeper.pid as number])));

    // Running or waiting for a core, a spinner uses its whole window whatever the machine's load.
    for (const [name, pid] of [
      ["spinner", spinner.pid],
      ["parent of a spinner", parent.pid],
    ] as const) {
      const busy = new StartActivity();
      busy.sample(Date.now(), busyNanos([pid as number]));
      for (let window = 1; window <= 3; window++) {
        await sleep(QUIET_WINDOW_MS + 5);
        t.notOk(busy.sample(Date.now(), busyNanos([pid as number])), `${name}: busy in window ${window}`);
      }
    }
    t.equal(busyNanos([spinner.pid as number, 2 ** 22 + 12345]), undefined, "a process gone: unreadable");
  },
);
