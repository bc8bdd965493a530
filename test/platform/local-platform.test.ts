import t from "tap";
import { request } from "undici";
import { createLogger } from "../../common/log.ts";
import { LocalPlatform } from "../../platform/local/local-platform.ts";
import type { RevisionPods } from "../../platform/platform.ts";
import { appTemplate, isRunning } from "../helpers/platform.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";

function newPlatform(
  t: { teardown(fn: () => unknown): void },
  options: Partial<ConstructorParameters<typeof LocalPlatform>[0]> = {},
) {
  const platform = new LocalPlatform({ log: createLogger("test", "silent"), ...options });
  t.teardown(() => platform.close());
  return platform;
}

const readyPods = (pods: RevisionPods | undefined) => pods?.pods.filter((pod) => pod.phase === "ready") ?? [];

t.test("scales a revision 0 → 2 → 0 with real processes", async (t) => {
  const platform = newPlatform(t);
  platform.ensureRevision(appTemplate("hello-00001"));
  t.same(platform.revision("hello-00001")?.pods, [], "starts at zero");
  platform.scale("hello-00001", 2);
  await waitFor("two ready pods", () => readyPods(platform.revision("hello-00001")).length === 2);
  const pods = readyPods(platform.revision("hello-00001"));
  for (const pod of pods) {
    const res = await request(`${pod.url}/`);
    t.equal(await res.body.text(), "hello from hello-00001\n", `${pod.name} serves through its queue-proxy`);
  }
  const pids = pods.flatMap((pod) => [pod.pids?.app, pod.pids?.queueProxy]) as number[];

  // An in-flight request survives scale-down: the queue-proxy drains before the app stops.
  const held = request(`${pods[0].url}/hold`);
  await waitFor(
    "request held",
    async () => ((await (await request(`${pods[0].url}/_state`)).body.json()) as { held: number }).held === 1,
  );
  platform.scale("hello-00001", 0);
  await waitFor("pods terminating", () =>
    platform.revision("hello-00001")?.pods.every((pod) => pod.phase === "terminating"),
  );
  const released = await request(`${pods[0].url}/_release`);
  t.equal(released.statusCode, 200, "the draining pod still answers");
  await released.body.text();
  const res = await held;
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), "released\n", "the in-flight request completed during scale-down");
  await waitFor("all pods gone", () => platform.revision("hello-00001")?.pods.length === 0);
  t.notOk(pids.some(isRunning), "every process exited");
});

t.test("a crashed pod is replaced", async (t) => {
  const platform = newPlatform(t);
  platform.ensureRevision(appTemplate("crashy-00001"));
  platform.scale("crashy-00001", 1);
  await waitFor("ready", () => readyPods(platform.revision("crashy-00001")).length === 1);
  const [first] = readyPods(platform.revision("crashy-00001"));
  process.kill(first.pids?.app as number, "SIGKILL");
  await waitFor("a new ready pod", () => {
    const ready = readyPods(platform.revision("crashy-00001"));
    return ready.length === 1 && ready[0].name !== first.name;
  });
  t.equal(platform.revision("crashy-00001")?.failure, undefined);
  await waitFor("old queue-proxy gone", () => !isRunning(first.pids?.queueProxy as number));
});

t.test("an app that exits at once is reported failed with its output, and not retried forever", async (t) => {
  const platform = newPlatform(t, { backoff: { baseMs: 10, maxMs: 50, failAfterCrashes: 3 } });
  platform.ensureRevision(
    appTemplate("broken-00001", {
      command: [process.execPath, "-e", "console.error('missing DATABASE_URL'); process.exit(3)"],
    }),
  );
  platform.scale("broken-00001", 1);
  const failure = await waitFor("failure", () => platform.revision("broken-00001")?.failure);
  t.match(failure.reason, /app exited with code 3/);
  t.match(failure.logs.join("\n"), /missing DATABASE_URL/);
  await waitFor("no pod left", () => platform.revision("broken-00001")?.pods.length === 0);
  const restarts = platform.revision("broken-00001")?.pods.length;
  t.equal(restarts, 0, "gave up instead of restarting");
});

t.test("an app that never becomes ready is failed after the start timeout", async (t) => {
  const platform = newPlatform(t, {
    startTimeoutMs: 500,
    backoff: { baseMs: 10, maxMs: 10, failAfterCrashes: 1 },
  });
  platform.ensureRevision(
    appTemplate("silent-00001", {
      command: [process.execPath, "-e", "console.log('warming up forever'); setInterval(() => {}, 1000)"],
    }),
  );
  platform.scale("silent-00001", 1);
  const failure = await waitFor("failure", () => platform.revision("silent-00001")?.failure);
  t.match(failure.reason, /not ready within 0.5s/);
  t.match(failure.logs.join("\n"), /warming up forever/);
});

t.test("a command that does not exist is a clear failure", async (t) => {
  const platform = newPlatform(t, { backoff: { baseMs: 10, maxMs: 10, failAfterCrashes: 1 } });
  platform.ensureRevision(appTemplate("nothere-00001", { command: ["/nonexistent/app-binary"] }));
  platform.scale("nothere-00001", 1);
  const failure = await waitFor("failure", () => platform.revision("nothere-00001")?.failure);
  t.match(failure.reason, /exited|cannot start/);
});

t.test("no pod process outlives the platform, even when it is SIGKILLed", async (t) => {
  const driver = await startProcess(t, "test/fixtures/platform-driver.ts", {}, { timeoutMs: 20_000 });
  const pids = driver.message.pids as number[];
  t.equal(pids.length, 4, "two pods, two processes each");
  t.ok(pids.every(isRunning));
  driver.child.kill("SIGKILL");
  await waitFor("every pod process to exit", () => !pids.some(isRunning));
  t.pass("no orphans");
});
