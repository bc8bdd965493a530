// The supervisor of `sluice up` on a stand-in component: a restart keeps the environment and the
// port, a component that keeps dying is given up with its last words, and a stop during the
// back-off does not start it again.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { request } from "undici";
import { DEFAULT_RESTART_POLICY } from "../../cli/up/restart-policy.ts";
import { Supervisor, type SupervisorOptions } from "../../cli/up/supervisor.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { tempDir } from "../helpers/temp.ts";

function options(events: string[], overrides: Partial<SupervisorOptions> = {}): SupervisorOptions {
  return {
    name: "stand-in",
    entry: `${ROOT}test/fixtures/supervised-component.ts`,
    env: { PORT: "0", GREETING: "same env" },
    portVariables: { port: "PORT" },
    onLine: () => {},
    onEvent: (message) => events.push(message),
    policy: { ...DEFAULT_RESTART_POLICY, firstDelayMs: 10 },
    ...overrides,
  };
}

async function ask(port: number): Promise<{ pid: number; greeting: string }> {
  const res = await request(`http://127.0.0.1:${port}/`);
  return (await res.body.json()) as { pid: number; greeting: string };
}

t.test("the first run's own variables are not given to restarts", async (t) => {
  const events: string[] = [];
  const supervisor = await Supervisor.start(options(events, { firstRunEnv: { GREETING: "first run only" } }));
  t.teardown(() => supervisor.stop());
  const port = supervisor.ports.port as number;
  const first = await ask(port);
  t.equal(first.greeting, "first run only");
  process.kill(first.pid, "SIGKILL");
  const second = await waitFor("an answer from a new process", async () => {
    const answer = await ask(port).catch(() => undefined);
    return answer && answer.pid !== first.pid ? answer : undefined;
  });
  t.equal(
    second.greeting,
    "same env",
    "a restart has the base environment (AUTOSCALER_RESTORE=none is not repeated)",
  );
});

t.test("a component that dies is restarted on the same port with the same environment", async (t) => {
  const events: string[] = [];
  const supervisor = await Supervisor.start(options(events));
  t.teardown(() => supervisor.stop());
  const port = supervisor.ports.port as number;
  t.ok(port > 0, "port 0 got a real port");
  const first = await ask(port);
  t.equal(first.greeting, "same env");
  t.equal(supervisor.status().pid, first.pid);

  process.kill(first.pid, "SIGKILL");
  const second = await waitFor("an answer from a new process on the same port", async () => {
    const answer = await ask(port).catch(() => undefined);
    return answer && answer.pid !== first.pid ? answer : undefined;
  });
  t.equal(second.greeting, "same env", "the same environment");
  t.match(events, [
    "stand-in exited (SIGKILL); restarting in 0.01 s (restart 1)",
    /^stand-in restarted \(pid \d+\)$/,
  ]);
  t.match(supervisor.status(), {
    name: "stand-in",
    state: "running",
    pid: second.pid,
    ports: { port },
    restarts: 1,
    lastExit: { code: "SIGKILL" },
  });

  await supervisor.stop();
  t.match(supervisor.status(), { state: "stopped", pid: undefined });
  t.match(events, { length: 2 }, "a stop is no death");
});

t.test("a component that keeps dying is given up with its last output", async (t) => {
  const dir = tempDir(t, "sluice-supervisor-");
  const crashFile = join(dir, "crash");
  const events: string[] = [];
  const supervisor = await Supervisor.start(options(events, { env: { PORT: "0", CRASH_FILE: crashFile } }));
  t.teardown(() => supervisor.stop());
  writeFileSync(crashFile, "");
  process.kill(supervisor.status().pid as number, "SIGKILL");
  const why = await supervisor.gaveUp;
  t.match(why, /^stand-in exited \(1\) 5 times within 60 s; its last output:\n {2}broken: cannot start$/);
  t.same(
    events.filter((e) => e.includes("restarting")).map((e) => /restarting in ([\d.]+) s/.exec(e)?.[1]),
    ["0.01", "0.02", "0.04", "0.08"],
    "four restarts with doubling back-off",
  );
  t.match(supervisor.status(), {
    state: "failed",
    restarts: 4,
    lastExit: { code: "1", lastLines: ["broken: cannot start"] },
  });
});

t.test("a stop during the back-off starts nothing again", async (t) => {
  const events: string[] = [];
  const supervisor = await Supervisor.start(
    options(events, { policy: { ...DEFAULT_RESTART_POLICY, firstDelayMs: 600_000 } }),
  );
  process.kill(supervisor.status().pid as number, "SIGKILL");
  await waitFor("the back-off", () => supervisor.status().state === "restarting");
  await supervisor.stop();
  t.match(supervisor.status(), { state: "stopped", pid: undefined, restarts: 1 });
  t.equal(events.length, 1, "no restart after the stop");
});
