// A pod SIGKILLed under load through `sluice up` (its queue-proxy and app, found through /proc):
// only the requests it had in flight fail, each with a 502, and none sent after the kill.
import t from "tap";
import { appService } from "../helpers/autoscaler.ts";
import { describe, figures, startLoad } from "../helpers/load.ts";
import { killAll } from "../helpers/platform.ts";
import { waitFor } from "../helpers/processes.ts";
import { revisionOf, startSluiceUp } from "../helpers/sluice-up.ts";

const VICTIM = appService("victim", {
  containerConcurrency: 10,
  annotations: [
    'autoscaling.knative.dev/min-scale: "3"',
    'autoscaling.knative.dev/max-scale: "3"',
    'autoscaling.knative.dev/initial-scale: "3"',
  ],
});

t.test("a pod SIGKILLed under load: only its in-flight requests fail", async (t) => {
  const up = await startSluiceUp(t, [VICTIM]);
  const state = await up.waitForEndpoints("victim-00001", 3);
  const pod = revisionOf(state, "victim-00001")?.endpoints[0] as { pod: string; url: string };
  const pids = up.podPids(pod.pod);

  const load = startLoad({
    url: up.routerUrl,
    host: "victim.default.example.com",
    path: "/sleep?ms=100",
    concurrency: 15,
  });
  await waitFor("300 answers", () => load.outcomes.length >= 300, { timeoutMs: 30_000 });
  // The pod holds at most containerConcurrency (10) requests: no more than that may fail.
  const killedAt = load.now();
  process.kill(pids.queueProxy, "SIGKILL");
  // The app may already be gone: the platform stops it as soon as it sees the queue-proxy die.
  if (pids.app !== undefined) killAll([pids.app]);
  const atKill = load.outcomes.length;
  // The platform replaces it; the load goes on until the revision is back at 3 ready pods and
  // 300 more requests have been answered.
  await waitFor(
    "a replacement pod ready and 300 more answers",
    async () => {
      const revision = revisionOf(await up.state(), "victim-00001");
      const replaced = revision?.endpoints.length === 3 && !revision.endpoints.some((e) => e.pod === pod.pod);
      return replaced && load.outcomes.length >= atKill + 300;
    },
    { timeoutMs: 30_000, everyMs: 100 },
  );
  const outcomes = await load.stop();
  const f = figures(outcomes);
  const failed = outcomes.filter((o) => o.status !== 200);
  const sentAfter = failed.filter((o) => o.start > killedAt);
  t.comment(
    describe(
      "3 pods (containerConcurrency 10), 15 at a time, one pod SIGKILLed",
      f,
      `${failed.length} failed, ${sentAfter.length} of them sent after the kill`,
    ),
  );
  t.ok(failed.length <= 10, `at most the killed pod's in-flight requests fail (${failed.length} ≤ 10)`);
  t.same(
    [...new Set(failed.map((o) => o.error ?? o.status))],
    failed.length > 0 ? [502] : [],
    "each failure is a 502 from the data plane",
    { failures: failed.slice(0, 5) },
  );
  t.same(sentAfter, [], "no request sent after the kill fails");
});
