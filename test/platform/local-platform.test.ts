import t from "tap";
import { Agent, request } from "undici";
import { createLogger } from "../../common/log.ts";
import { LocalPlatform } from "../../platform/local/local-platform.ts";
import type { RevisionPods } from "../../platform/platform.ts";
import { appTemplate, isRunning, killAll, tempStateDir } from "../helpers/platform.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";

function newPlatform(
  t: { teardown(fn: () => unknown): void },
  options: Partial<ConstructorParameters<typeof LocalPlatform>[0]> = {},
) {
  const platform = new LocalPlatform({
    log: createLogger("test", "silent"),
    stateDir: tempStateDir(t),
    ...options,
  });
  t.teardown(() => platform.close());
  return platform;
}

const readyPods = (pods: RevisionPods | undefined) => pods?.pods.filter((pod) => pod.phase === "ready") ?? [];

t.test("scales a revision 0 → 2 → 0 with real processes", async (t) => {
  const platform = newPlatform(t);
  platform.ensureRevision(appTemplate("hello-00001"));
  t.same(platform.revision("default/hello-00001")?.pods, [], "starts at zero");
  platform.scale("default/hello-00001", 2);
  await waitFor("two ready pods", () => readyPods(platform.revision("default/hello-00001")).length === 2);
  const pods = readyPods(platform.revision("default/hello-00001"));
  for (const pod of pods) {
    const res = await request(`${pod.url}/`);
    t.equal(await res.body.text(), "hello from hello-00001\n", `${pod.name} serves through its queue-proxy`);
    // The same queue-proxy on its Unix socket, in the pod's directory.
    t.match(pod.socket, /\/pods\/default_hello-00001-\d+\/queue-proxy\.sock$/);
    const viaSocket = await request("http://pod/", {
      dispatcher: new Agent({ connect: { socketPath: pod.socket } }),
    });
    t.equal(await viaSocket.body.text(), "hello from hello-00001\n", `${pod.name} serves on its socket`);
  }
  const pids = pods.flatMap((pod) => [pod.pids?.app, pod.pids?.queueProxy]) as number[];

  // An in-flight request survives scale-down: the queue-proxy drains before the app stops (this
  // one on the queue-proxy's socket, the way the router reaches it).
  const held = request("http://pod/hold", {
    dispatcher: new Agent({ connect: { socketPath: pods[0].socket } }),
  });
  await waitFor(
    "request held",
    async () => ((await (await request(`${pods[0].url}/_state`)).body.json()) as { held: number }).held === 1,
  );
  platform.scale("default/hello-00001", 0);
  await waitFor("pods terminating", () =>
    platform.revision("default/hello-00001")?.pods.every((pod) => pod.phase === "terminating"),
  );
  const released = await request(`${pods[0].url}/_release`);
  t.equal(released.statusCode, 200, "the draining pod still answers");
  await released.body.text();
  const res = await held;
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), "released\n", "the in-flight request completed during scale-down");
  await waitFor("all pods gone", () => platform.revision("default/hello-00001")?.pods.length === 0);
  t.notOk(pids.some(isRunning), "every process exited");
});

t.test("a crashed pod is replaced", async (t) => {
  const platform = newPlatform(t);
  platform.ensureRevision(appTemplate("crashy-00001"));
  platform.scale("default/crashy-00001", 1);
  await waitFor("ready", () => readyPods(platform.revision("default/crashy-00001")).length === 1);
  const [first] = readyPods(platform.revision("default/crashy-00001"));
  process.kill(first.pids?.app as number, "SIGKILL");
  await waitFor("a new ready pod", () => {
    const ready = readyPods(platform.revision("default/crashy-00001"));
    return ready.length === 1 && ready[0].name !== first.name;
  });
  t.equal(platform.revision("default/crashy-00001")?.failure, undefined);
  await waitFor("old queue-proxy gone", () => !isRunning(first.pids?.queueProxy as number));
});

t.test("an app that exits at once is reported failed with its output, and not retried forever", async (t) => {
  const platform = newPlatform(t, { backoff: { baseMs: 10, maxMs: 50, failAfterCrashes: 3 } });
  platform.ensureRevision(
    appTemplate("broken-00001", {
      command: [process.execPath, "-e", "console.error('missing DATABASE_URL'); process.exit(3)"],
    }),
  );
  platform.scale("default/broken-00001", 1);
  const failure = await waitFor("failure", () => platform.revision("default/broken-00001")?.failure);
  t.match(failure.reason, /app exited with code 3/);
  t.match(failure.logs.join("\n"), /missing DATABASE_URL/);
  await waitFor("no pod left", () => platform.revision("default/broken-00001")?.pods.length === 0);
  const restarts = platform.revision("default/broken-00001")?.pods.length;
  t.equal(restarts, 0, "gave up instead of restarting");
});

t.test("an app that never becomes ready is replaced after the start timeout, then failed", async (t) => {
  const platform = newPlatform(t, {
    startTimeoutMs: 500,
    backoff: { baseMs: 10, maxMs: 10, failAfterCrashes: 3 },
  });
  platform.ensureRevision(
    appTemplate("silent-00001", {
      command: [process.execPath, "-e", "console.log('warming up forever'); setInterval(() => {}, 1000)"],
    }),
  );
  const seen = new Set<string>();
  const failedWith: number[] = [];
  platform.onChange(() => {
    const pods = platform.revision("default/silent-00001");
    for (const pod of pods?.pods ?? []) seen.add(pod.name);
    if (pods?.failure && failedWith.length === 0) failedWith.push(seen.size);
  });
  platform.scale("default/silent-00001", 1);
  const failure = await waitFor("failure", () => platform.revision("default/silent-00001")?.failure, {
    timeoutMs: 20_000,
  });
  t.match(failure.reason, /not ready within 0.5s/);
  t.match(failure.logs.join("\n"), /warming up forever/);
  t.equal(failedWith[0], 3, "each timed-out pod was replaced; the third spent the failure budget");
  await waitFor("no pod left", () => platform.revision("default/silent-00001")?.pods.length === 0);
  t.equal(seen.size, 3, "no further pod after the failure");
  t.equal(
    platform.revision("default/silent-00001")?.desired,
    1,
    "still wanted: the failure is what reports it",
  );
});

t.test("a command that does not exist is a clear failure", async (t) => {
  const platform = newPlatform(t, { backoff: { baseMs: 10, maxMs: 10, failAfterCrashes: 1 } });
  platform.ensureRevision(appTemplate("nothere-00001", { command: ["/nonexistent/app-binary"] }));
  platform.scale("default/nothere-00001", 1);
  const failure = await waitFor("failure", () => platform.revision("default/nothere-00001")?.failure);
  t.match(failure.reason, /exited|cannot start/);
});

/** Starts platform-driver.ts (a platform in its own process) with pods of `revision` ready. */
async function startDriver(
  t: { teardown(fn: () => unknown): void },
  stateDir: string,
  revision: string,
  env: Record<string, string> = {},
) {
  const driver = await startProcess(
    t,
    "test/fixtures/platform-driver.ts",
    { SLUICE_STATE_DIR: stateDir, DRIVER_REVISION: revision, ...env },
    { timeoutMs: 20_000 },
  );
  const pids = driver.message.pids as number[];
  t.teardown(() => killAll(pids.filter(isRunning)));
  return { driver, pids, pods: driver.message.pods as RevisionPods["pods"] };
}

t.test("pods outlive a SIGKILLed platform and the next one adopts them", async (t) => {
  const stateDir = tempStateDir(t);
  const { driver, pids, pods } = await startDriver(t, stateDir, "adopt-00001");
  driver.child.kill("SIGKILL");
  await driver.exited;
  t.ok(pids.every(isRunning), "the pods still run");
  const res = await request(`${pods[0].url}/`);
  t.equal(await res.body.text(), "hello from adopt-00001\n", "and still answer");

  const platform = newPlatform(t, { stateDir });
  platform.ensureRevision(appTemplate("adopt-00001"));
  const result = await platform.adopt();
  t.same(result.adopted.sort(), pods.map((pod) => pod.name).sort(), "both adopted");
  const adopted = platform.revision("default/adopt-00001");
  t.equal(adopted?.desired, 2, "the desired scale counts them");
  t.same(
    readyPods(adopted)
      .map((pod) => [pod.name, pod.url, pod.socket, pod.pids?.app, pod.pids?.queueProxy])
      .sort(),
    pods.map((pod) => [pod.name, pod.url, pod.socket, pod.pids?.app, pod.pids?.queueProxy]).sort(),
    "same pods, same endpoints, same processes, ready at once",
  );

  platform.scale("default/adopt-00001", 3);
  await waitFor("a third ready pod", () => readyPods(platform.revision("default/adopt-00001")).length === 3);
  const names = readyPods(platform.revision("default/adopt-00001")).map((pod) => pod.name);
  t.equal(new Set(names).size, 3, "the new pod's name does not clash with the adopted ones");

  // An adopted pod that crashes is noticed (it is not our child: its pids are polled) and replaced.
  process.kill(pods[0].pids?.app as number, "SIGKILL");
  await waitFor("the crashed adopted pod replaced", () => {
    const ready = readyPods(platform.revision("default/adopt-00001"));
    return ready.length === 3 && !ready.some((pod) => pod.name === pods[0].name);
  });
  await waitFor("its queue-proxy killed", () => !isRunning(pods[0].pids?.queueProxy as number));

  // A clean stop stops adopted pods too.
  const all = (platform.revision("default/adopt-00001")?.pods ?? []).flatMap((pod) => [
    pod.pids?.app as number,
    pod.pids?.queueProxy as number,
  ]);
  await platform.close();
  t.notOk([...all, ...pids].some(isRunning), "every pod process exited");
});

t.test("a leftover pod that cannot be adopted is killed", async (t) => {
  const stateDir = tempStateDir(t);
  const gone = await startDriver(t, stateDir, "gone-00001", { DRIVER_PODS: "1" });
  gone.driver.child.kill("SIGKILL");
  const broken = await startDriver(t, stateDir, "broken-00001", { DRIVER_PODS: "1" });
  broken.driver.child.kill("SIGKILL");
  await Promise.all([gone.driver.exited, broken.driver.exited]);
  // broken-00001 is still known, but its queue-proxy died: half a pod is not adopted.
  process.kill(broken.pods[0].pids?.queueProxy as number, "SIGKILL");
  await waitFor("queue-proxy gone", () => !isRunning(broken.pods[0].pids?.queueProxy as number));

  const platform = newPlatform(t, { stateDir });
  platform.ensureRevision(appTemplate("broken-00001"));
  const result = await platform.adopt();
  t.same(result.adopted, []);
  t.same(result.killed.sort(), [broken.pods[0].name, gone.pods[0].name].sort());
  await waitFor("every leftover process killed", () => ![...gone.pids, ...broken.pids].some(isRunning));
  t.same(platform.revision("default/broken-00001")?.pods, [], "nothing adopted");
});

t.test("pods of a SIGKILLed platform that is not restarted stop after the orphan grace", async (t) => {
  const stateDir = tempStateDir(t);
  const { driver, pids } = await startDriver(t, stateDir, "orphans-00001", { POD_ORPHAN_GRACE_SECONDS: "1" });
  t.equal(pids.length, 4, "two pods, two processes each");
  driver.child.kill("SIGKILL");
  await waitFor("every orphaned pod process to exit", () => !pids.some(isRunning), { timeoutMs: 20_000 });
  t.pass("no orphans left");
});

t.test("a queue-proxy that exits with no platform left takes its app down with it", async (t) => {
  const stateDir = tempStateDir(t);
  const { driver, pods } = await startDriver(t, stateDir, "alone-00001", { DRIVER_PODS: "1" });
  driver.child.kill("SIGKILL");
  await driver.exited;
  // As if the platform had been SIGKILLed halfway through stopping the pod: the queue-proxy drains
  // and exits, and nobody is left to stop the app.
  process.kill(pods[0].pids?.queueProxy as number, "SIGTERM");
  await waitFor("the app gone too", () => !isRunning(pods[0].pids?.app as number));
  t.pass("no app left running alone");
});
