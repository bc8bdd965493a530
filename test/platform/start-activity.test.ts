// Whether a starting pod still uses the machine: pure samples, and /proc read for real processes.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import {
  busyLook,
  QUIET_SHARE,
  QUIET_WINDOW_MS,
  StartActivity,
} from "../../platform/local/start-activity.ts";
import { waitFor } from "../helpers/processes.ts";

const MS = 1e6;

const quiet = (nanos: number) => ({ nanos, active: false });

t.test("StartActivity: settles after a window with less than the quiet share of a core", async (t) => {
  const activity = new StartActivity();
  t.notOk(activity.sample(0, quiet(0)), "the first look only starts a window");
  t.notOk(activity.sample(QUIET_WINDOW_MS - 1, quiet(0)), "a window too short to tell");
  const busyUntil = 0.9 * QUIET_WINDOW_MS * MS;
  t.notOk(activity.sample(QUIET_WINDOW_MS, quiet(busyUntil)), "busy: 90 % of a core");
  const quietFor = 2 * QUIET_WINDOW_MS;
  t.notOk(
    activity.sample(QUIET_WINDOW_MS + quietFor, quiet(busyUntil + QUIET_SHARE * quietFor * MS)),
    "at the quiet share exactly: still busy",
  );
  let at = QUIET_WINDOW_MS + 2 * quietFor;
  t.notOk(
    activity.sample(at, { nanos: busyUntil + QUIET_SHARE * quietFor * MS, active: true }),
    "no time counted, but runnable now (its wait is counted once it runs): busy",
  );
  at += quietFor;
  t.ok(
    activity.sample(at, quiet(busyUntil + QUIET_SHARE * quietFor * MS + 1 * MS)),
    "1 ms in a window: quiet",
  );
  t.ok(activity.settled);
  t.ok(
    activity.sample(at + QUIET_WINDOW_MS, quiet(1e12)),
    "settled for good: a later burst takes no slot back",
  );
});

t.test("StartActivity: what cannot be read is busy, and starts the window again", async (t) => {
  const activity = new StartActivity();
  t.notOk(activity.sample(0, undefined), "not spawned yet");
  t.notOk(activity.sample(100, quiet(0)), "spawned: a window starts");
  t.notOk(activity.sample(200, undefined), "unreadable");
  t.notOk(activity.sample(300, quiet(5 * MS)), "a window starts again, none ends");
  t.notOk(activity.sample(400, quiet(1 * MS)), "less than before (other processes): a new window");
  t.ok(activity.sample(400 + QUIET_WINDOW_MS, quiet(1 * MS)), "then a quiet one");
});

t.test(
  "busyLook: a spinning process stays busy, a sleeping one goes quiet",
  { skip: process.platform !== "linux" && "needs /proc" },
  async (t) => {
    // Spinners stop by themselves after 30 s, should a teardown never come.
    const spin = "const end = Date.now() + 30000; while (Date.now() < end) {}";
    const spinner = spawn(process.execPath, ["-e", spin], { stdio: "ignore" });
    // A sleeper that forks a spinner of its own: the child's time counts as the pod's. In a
    // process group of its own, so that the teardown takes the child too.
    const parent = spawn(
      process.execPath,
      [
        "-e",
        `require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(spin)}], { stdio: "ignore" }); setInterval(() => {}, 1e6)`,
      ],
      { stdio: "ignore", detached: true },
    );
    const sleeper = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { stdio: "ignore" });
    t.teardown(() => {
      spinner.kill("SIGKILL");
      sleeper.kill("SIGKILL");
      process.kill(-(parent.pid as number), "SIGKILL");
    });
    const quiet = new StartActivity();
    await waitFor("the sleeper quiet", () => quiet.sample(Date.now(), busyLook([sleeper.pid as number])));

    // Running or waiting for a core, a spinner uses its whole window whatever the machine's load.
    for (const [name, pid] of [
      ["spinner", spinner.pid],
      ["parent of a spinner", parent.pid],
    ] as const) {
      const busy = new StartActivity();
      busy.sample(Date.now(), busyLook([pid as number]));
      for (let window = 1; window <= 3; window++) {
        await sleep(QUIET_WINDOW_MS + 5);
        t.notOk(busy.sample(Date.now(), busyLook([pid as number])), `${name}: busy in window ${window}`);
      }
    }
    t.equal(busyLook([spinner.pid as number, 2 ** 22 + 12345]), undefined, "a process gone: unreadable");
  },
);
