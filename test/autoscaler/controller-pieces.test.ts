// The controller's decisions, each without I/O: planning an apply, taking activator stats, one
// revision's scale decision, garbage collection, the published routes, and what a tick scrapes.
import t from "tap";
import { appliedResult, planApply } from "../../autoscaler/apply.ts";
import { collectGarbage } from "../../autoscaler/garbage-collector.ts";
import { decideOnPoke, decideScale } from "../../autoscaler/scale-decision.ts";
import { scrapeTargets, statsByRevision } from "../../autoscaler/scraper.ts";
import type { ServiceEntry } from "../../autoscaler/service-entry.ts";
import { referencedRevisions, serviceStates } from "../../autoscaler/service-states.ts";
import { takeActivatorStats } from "../../autoscaler/stats-intake.ts";
import type { PodStats } from "../../common/pod-stats.ts";
import type { RevisionPods } from "../../platform/platform.ts";
import { appService } from "../helpers/autoscaler.ts";
import { entryOf, manifestOf, runtimeOf } from "../helpers/revision-runtime.ts";

t.test("planApply: problems, or the revision each service maps to; nothing is changed", async (t) => {
  const services = new Map<string, ServiceEntry>();
  const two = `${appService("hello")}---\n${appService("world")}`;
  const plan = planApply(two, "h.yaml", services, 7);
  if (!("planned" in plan)) throw new Error(plan.problems.join("\n"));
  t.same(
    plan.planned.map((p) => [p.revision.name, p.created, p.revision.createdAt]),
    [
      ["hello-00001", true, 7],
      ["world-00001", true, 7],
    ],
  );
  t.same(appliedResult(plan.planned).applied, [
    { service: "hello", namespace: "default", revision: "hello-00001", created: true },
    { service: "world", namespace: "default", revision: "world-00001", created: true },
  ]);
  t.equal(services.size, 0, "the table is untouched");

  const bad = planApply("kind: Service\n", "bad.yaml", services, 7);
  t.ok("problems" in bad && bad.problems.length > 0, "an invalid manifest: problems only");

  const known = new Map([["default/hello", entryOf(manifestOf("hello"), 2)]]);
  const again = planApply(appService("hello", { version: "v3" }), "h.yaml", known, 8);
  t.match(again, { planned: [{ revision: { name: "hello-00003" }, created: true }] }, "numbering continues");
});

t.test("takeActivatorStats: kept per activator; a poke names the revision and its least scale", async (t) => {
  const runtime = runtimeOf(
    manifestOf("hello", { annotations: { "autoscaling.knative.dev/min-scale": "2" } }),
    1,
  );
  const running = new Map([[runtime.key, runtime]]);
  const stats = { averageConcurrency: 3, requestCount: 3, windowSeconds: 1 };
  const intake = takeActivatorStats(
    {
      activator: "a1",
      revisions: [
        { namespace: "default", revision: "hello-00001", ...stats, poke: true },
        { namespace: "staging", revision: "hello-00001", ...stats },
      ],
    },
    running,
  );
  t.same(intake.unknown, ["staging/hello-00001"]);
  t.same(
    intake.poked.map((p) => [p.runtime.key, p.scale]),
    [["default/hello-00001", 2]],
    "at least min-scale",
  );
  t.same([...runtime.activatorStats.keys()], ["a1"]);
  t.same(
    takeActivatorStats(
      { activator: "a1", revisions: [{ namespace: "default", revision: "hello-00001", ...stats }] },
      running,
    ).poked,
    [],
    "a push without a poke is kept for the tick only",
  );
});

t.test(
  "decideScale: unreferenced goes to zero behind the activator; referenced follows the KPA",
  async (t) => {
    const runtime = runtimeOf(
      manifestOf("hello", { annotations: { "autoscaling.knative.dev/target": "1" } }),
      1,
      1,
    );
    runtime.desired = 1;
    t.same(decideScale(runtime, [], 1, false, 10_000), { scale: 0, mode: "proxy" });
    t.equal(runtime.unreferencedSince, 10_000);
    const pod = {
      averageConcurrency: 4,
      averageProxiedConcurrency: 0,
      requestCount: 4,
      proxiedRequestCount: 0,
    } as PodStats;
    const busy = decideScale(runtime, [pod], 1, true, 11_000);
    t.equal(runtime.unreferencedSince, undefined, "referenced again");
    t.ok(busy.scale >= 2, `load 4 at target 1 wants more pods (${busy.scale})`);
    t.same(runtime.load.concurrency, 4);
  },
);

t.test(
  "decideScale: unreferenced, the KPA's wish for the requests still coming, without the floor",
  async (t) => {
    const annotations = {
      "autoscaling.knative.dev/target": "1",
      "autoscaling.knative.dev/min-scale": "3",
      "autoscaling.knative.dev/max-scale": "4",
    };
    const runtime = runtimeOf(manifestOf("hello", { annotations }), 1, 1);
    runtime.desired = 4;
    const pod = (concurrency: number) =>
      ({
        averageConcurrency: concurrency,
        averageProxiedConcurrency: 0,
        requestCount: concurrency,
        proxiedRequestCount: 0,
      }) as PodStats;
    // target 1 at 70 %: 0.7 per pod.
    t.same(
      decideScale(runtime, [pod(0.5)], 4, false, 10_000),
      { scale: 1, mode: "proxy" },
      "one pod for 0.5: below min-scale, and from 4 at once (no scale-down rate)",
    );
    const held = { namespace: "default", revision: "hello-00001", requestCount: 1, windowSeconds: 0 };
    runtime.activatorStats.set("a1", { ...held, averageConcurrency: 1 });
    t.ok(decideScale(runtime, [], 0, false, 11_000).scale > 0, "a request an activator holds");
    t.ok(
      decideScale(runtime, [], 0, false, 12_000).scale > 0,
      "a tick without the activator's push: the window still has the request",
    );
    t.same(
      decideScale(runtime, [], 0, false, 72_000),
      { scale: 0, mode: "proxy" },
      "a stable window without any: zero",
    );
    t.equal(runtime.unreferencedSince, 10_000, "unreferenced since the first");
    const busy = runtimeOf(manifestOf("hello", { annotations }), 1, 1);
    t.equal(decideScale(busy, [pod(50)], 1, false, 10_000).scale, 4, "at most max-scale");
  },
);

t.test("decideOnPoke: the activators' demand decides now, and stays for the tick to record", async (t) => {
  const runtime = runtimeOf(
    manifestOf("hello", { annotations: { "autoscaling.knative.dev/target": "1" } }),
    1,
  );
  const poke = { namespace: "default", revision: "hello-00001", requestCount: 1, windowSeconds: 0 };
  runtime.activatorStats.set("a1", { ...poke, averageConcurrency: 30, poke: true });
  runtime.activatorStats.set("a2", { ...poke, averageConcurrency: 20 });
  t.same(
    decideOnPoke(runtime, true, 10_000),
    { scale: Math.ceil(50 / 0.7), mode: "proxy" },
    "both activators' held requests",
  );
  t.equal(runtime.load.concurrency, 50);
  t.equal(runtime.activatorStats.size, 2, "kept for the tick");
  t.same(
    decideScale(runtime, [], 0, true, 10_500).scale,
    Math.ceil(50 / 0.7),
    "which records them as it would have",
  );
  t.equal(runtime.activatorStats.size, 0);
});

t.test("collectGarbage: unreferenced past retention and at zero, of active services only", async (t) => {
  const active = entryOf(manifestOf("a"), 2);
  const inactive = entryOf(manifestOf("b"), 2, false);
  for (const runtime of [...active.revisions, ...inactive.revisions]) runtime.unreferencedSince = 0;
  active.revisions[0].desired = 0;
  active.revisions[1].desired = 1;
  const referenced = new Set(["default/a-00002"]);
  t.same(collectGarbage([active, inactive], referenced, 999, 1000), [], "within retention");
  const collected = collectGarbage([active, inactive], referenced, 1000, 1000);
  t.same(
    collected.map((r) => r.key),
    ["default/a-00001"],
  );
  t.same(
    active.revisions.map((r) => r.key),
    ["default/a-00002"],
  );
  t.equal(inactive.revisions.length, 2, "history only: kept");
});

t.test("serviceStates and referencedRevisions: active services, latest ready, tags kept", async (t) => {
  const tagged = manifestOf("a", {
    traffic: [
      { latestRevision: true, percent: 100 },
      { revisionName: "a-00001", percent: 0, tag: "old" },
    ],
  });
  const services = new Map([
    ["default/a", entryOf(tagged, 2)],
    ["default/b", entryOf(manifestOf("b"), 1, false)],
  ]);
  services.get("default/a")?.revisions.push(runtimeOf(tagged, 3)); // created, not ready yet
  const states = serviceStates(services, "example.com", 0);
  t.same(Object.keys(states), ["default/a"], "an inactive service has no route");
  t.same(states["default/a"].traffic, [
    { revision: "a-00002", percent: 100 },
    { revision: "a-00001", percent: 0, tag: "old" },
  ]);
  t.equal(states["default/a"].latestCreatedRevision, "a-00003");
  t.same([...referencedRevisions(states, services.values())].sort(), [
    "default/a-00001",
    "default/a-00002",
    "default/a-00003",
  ]);
});

t.test("scrapeTargets and statsByRevision", async (t) => {
  const pods = new Map<string, RevisionPods>([
    [
      "default/a-00001",
      {
        key: "default/a-00001",
        desired: 2,
        pods: [
          { name: "p1", phase: "ready", adminUrl: "http://p1", restarts: 0, startedAt: 0 },
          { name: "p2", phase: "starting", adminUrl: "http://p2", restarts: 0, startedAt: 0 },
        ],
      },
    ],
  ]);
  const targets = scrapeTargets(["default/a-00001", "default/gone-00001"], (key) => pods.get(key));
  t.same(targets, [{ revisionKey: "default/a-00001", pod: "p1", adminUrl: "http://p1" }], "ready pods only");
  const stats = { averageConcurrency: 1 } as PodStats;
  const grouped = statsByRevision([
    { target: targets[0], stats },
    { target: targets[0], error: "timeout" },
    { target: targets[0], stats },
  ]);
  t.same([...grouped.entries()], [["default/a-00001", [stats, stats]]]);
});
