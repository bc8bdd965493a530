// The local platform's capacity with real processes: pods past it wait as pending, start in turn
// as room frees (a pod exiting, a scale-down, a start finishing), fairly across revisions.
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";
import { createLogger } from "../../common/log.ts";
import type { LocalCapacity } from "../../platform/local/capacity.ts";
import { LocalPlatform } from "../../platform/local/local-platform.ts";
import type { PodPhase, RevisionPods } from "../../platform/platform.ts";
import { appTemplate, tempStateDir } from "../helpers/platform.ts";
import { waitFor } from "../helpers/processes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function newPlatform(t: { teardown(fn: () => unknown): void }, capacity: LocalCapacity) {
  const platform = new LocalPlatform({
    log: createLogger("test", "silent"),
    stateDir: tempStateDir(t),
    capacity,
  });
  t.teardown(() => platform.close());
  return platform;
}

const inPhase = (pods: RevisionPods | undefined, phase: PodPhase) =>
  pods?.pods.filter((pod) => pod.phase === phase) ?? [];

t.test("pods past the capacity are pending, and start when a pod exits", async (t) => {
  const platform = newPlatform(t, { maxPods: 2, maxStarting: 2 });
  platform.ensureRevision(appTemplate("a-00001"));
  platform.scale("default/a-00001", 3);
  const now = platform.revision("default/a-00001");
  t.equal(inPhase(now, "starting").length, 2, "two start");
  const [pending] = inPhase(now, "pending");
  t.match(pending, { name: "a-00001-003", restarts: 0 }, "the third waits, named already");
  t.equal(pending.url, undefined, "no URL: nothing runs");
  t.equal(pending.pids, undefined, "no processes");
  t.same(platform.capacity(), { maxPods: 2, maxStarting: 2, pods: 2, pending: 1 }, "its room and its use");

  await waitFor("two ready", () => inPhase(platform.revision("default/a-00001"), "ready").length === 2);
  t.same(
    inPhase(platform.revision("default/a-00001"), "pending").map((pod) => pod.name),
    ["a-00001-003"],
    "still waiting: the machine is full",
  );
  const [first] = inPhase(platform.revision("default/a-00001"), "ready");
  process.kill(first.pids?.app as number, "SIGKILL");
  await waitFor("the pending pod ready", () =>
    inPhase(platform.revision("default/a-00001"), "ready").some((pod) => pod.name === "a-00001-003"),
  );
  // The replacement is queued after the crash back-off (250 ms), which a quick start can beat.
  await waitFor("the killed pod's replacement queued", () => platform.capacity()?.pending === 1);
  t.same(
    platform.capacity(),
    { maxPods: 2, maxStarting: 2, pods: 2, pending: 1 },
    "the killed pod's replacement waits in its turn: three wanted, room for two",
  );
});

t.test(
  "without a capacity there is no room to report (a cluster's platform has no such method)",
  async (t) => {
    const platform = new LocalPlatform({ log: createLogger("test", "silent"), stateDir: tempStateDir(t) });
    t.teardown(() => platform.close());
    t.equal(platform.capacity(), undefined);
  },
);

t.test("a scale-down of one revision lets another's pending pod start", async (t) => {
  const platform = newPlatform(t, { maxPods: 2, maxStarting: 2 });
  platform.ensureRevision(appTemplate("a-00001"));
  platform.ensureRevision(appTemplate("b-00001"));
  platform.scale("default/a-00001", 1);
  platform.scale("default/b-00001", 2);
  t.equal(inPhase(platform.revision("default/b-00001"), "pending").length, 1, "b's second waits");
  await waitFor("a and b at one ready pod each", () =>
    ["a", "b"].every((name) => inPhase(platform.revision(`default/${name}-00001`), "ready").length === 1),
  );
  t.equal(inPhase(platform.revision("default/b-00001"), "pending").length, 1, "even shares: no preemption");

  platform.scale("default/b-00001", 1);
  t.same(
    inPhase(platform.revision("default/b-00001"), "pending"),
    [],
    "fewer wanted: the pending pod goes first",
  );
  t.equal(inPhase(platform.revision("default/b-00001"), "ready").length, 1, "and no running pod stops");

  platform.scale("default/b-00001", 2);
  platform.scale("default/a-00001", 0);
  await waitFor("b's second pod ready once a's pod is gone", () => {
    const a = platform.revision("default/a-00001");
    const b = platform.revision("default/b-00001");
    return a?.pods.length === 0 && inPhase(b, "ready").length === 2;
  });
});

t.test("a revision at zero gets a pod before a full revision's next, by preemption", async (t) => {
  const platform = newPlatform(t, { maxPods: 2, maxStarting: 2 });
  platform.ensureRevision(appTemplate("busy-00001"));
  platform.ensureRevision(appTemplate("cold-00001"));
  platform.scale("default/busy-00001", 5);
  await waitFor(
    "busy at two ready",
    () => inPhase(platform.revision("default/busy-00001"), "ready").length === 2,
  );
  t.equal(inPhase(platform.revision("default/busy-00001"), "pending").length, 3);

  platform.scale("default/cold-00001", 1);
  t.equal(
    inPhase(platform.revision("default/busy-00001"), "terminating").length,
    1,
    "one of busy's pods makes room",
  );
  await waitFor(
    "cold's pod ready",
    () => inPhase(platform.revision("default/cold-00001"), "ready").length === 1,
  );
  const busy = platform.revision("default/busy-00001");
  t.equal(inPhase(busy, "ready").length, 1, "busy keeps one pod");
  t.equal(inPhase(busy, "pending").length, 4, "and waits for the rest");
  t.equal(busy?.desired, 5, "its desired scale is unchanged");
});

/** Three pods of an app whose boot is `boot` (test/fixtures/boot-app.cjs), one start slot: the most starting at once. */
async function mostStartingAtOnce(t: Test, boot: "busy" | "idle"): Promise<number> {
  const platform = newPlatform(t, { maxPods: 3, maxStarting: 1 });
  const key = `default/${boot}-00001`;
  platform.ensureRevision(
    appTemplate(`${boot}-00001`, {
      command: [process.execPath, `${ROOT}test/fixtures/boot-app.cjs`],
      // Long enough for an idle boot to outlast even a queue-proxy run from its sources (~0.7 s of CPU).
      env: { BOOT: boot, BOOT_MS: boot === "idle" ? "5000" : "600" },
    }),
  );
  let mostStarting = 0;
  platform.onChange(() => {
    mostStarting = Math.max(mostStarting, inPhase(platform.revision(key), "starting").length);
  });
  platform.scale(key, 3);
  t.equal(inPhase(platform.revision(key), "pending").length, 2, "two wait for the start slot");
  await waitFor("three ready", () => inPhase(platform.revision(key), "ready").length === 3, {
    timeoutMs: 30_000,
  });
  return mostStarting;
}

t.test("no more pods start at once than maxStarting while their starts keep the CPU busy", async (t) => {
  t.equal(await mostStartingAtOnce(t, "busy"), 1, "one at a time");
});

t.test("a starting pod whose processes only wait gives its start slot to the next", async (t) => {
  t.ok((await mostStartingAtOnce(t, "idle")) >= 2, "the next started before the first was ready");
});
