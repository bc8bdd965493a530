// Two autoscalers on one state directory: the second refuses to start (exit 1, saying who holds
// it) before it touches anything there, so the first one's pods keep running and answering.
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { request } from "undici";
import { STATE_LOCK_FILE } from "../../autoscaler/state-lock.ts";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";
import { isRunning, killAll, podPids, recordedPods, tempStateDir } from "../helpers/platform.ts";
import { ROOT, TEST_HOP_SECRET, waitFor, watchChild } from "../helpers/processes.ts";

const REVISION = "default/held-00001";

t.test(
  "a second autoscaler on the same state directory exits 1 and leaves the first one's pods",
  async (t) => {
    const stateDir = tempStateDir(t, "sluice-lock-");
    const first = await startAutoscaler(t, { SLUICE_STATE_DIR: stateDir });
    await first.apply(appService("held", { annotations: ['autoscaling.knative.dev/min-scale: "1"'] }));
    t.teardown(() => killAll(podPids(recordedPods(stateDir)).filter(isRunning)));
    const pod = await waitFor(
      "a ready pod",
      async () => (await first.state()).revisions[REVISION]?.endpoints[0],
    );
    const answers = async () => (await request(pod.url)).statusCode;
    t.equal(await answers(), 200, "the pod answers");
    const pids = podPids(recordedPods(stateDir));

    // As a second `sluice up` starts it: restoring nothing (which kills every leftover pod), on
    // another port (so the port is not what stops it).
    const second = fork(`${ROOT}autoscaler/main.ts`, [], {
      env: {
        ...process.env,
        LOG_LEVEL: "warn",
        SLUICE_HOP_SECRET: TEST_HOP_SECRET,
        SLUICE_STATE_DIR: stateDir,
        AUTOSCALER_PORT: "0",
        AUTOSCALER_RESTORE: "none",
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const { output, exited } = watchChild(t, second);
    const listening = new Promise<string>((resolve) => second.on("message", () => resolve("listening")));
    t.equal(await Promise.race([exited, listening]), 1, "exit 1, never listening");
    t.match(
      output(),
      `another autoscaler (pid ${first.proc.child.pid}) uses the state directory ${stateDir}; stop it or use --state-dir`,
    );

    // Pods whose lease lapsed or that were killed would be gone within a second: look for longer.
    const statuses: (number | string)[] = [];
    for (const deadline = Date.now() + 2_000; Date.now() < deadline; ) {
      statuses.push(await answers().catch((error: NodeJS.ErrnoException) => error.code ?? error.message));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    t.same(new Set(statuses), new Set([200]), `the first one's pod keeps answering: ${statuses}`);
    t.ok(pids.every(isRunning), "the same processes");
    t.same((await first.state()).revisions[REVISION]?.endpoints, [pod], "still the first one's endpoint");

    // A clean stop releases the lock.
    first.proc.child.kill("SIGTERM");
    t.equal(await first.proc.exited, 0);
    t.notOk(existsSync(join(stateDir, STATE_LOCK_FILE)), "lock released");
    await waitFor("the pods stopped with it", () => !pids.some(isRunning));
  },
);
