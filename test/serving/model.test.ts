import t from "tap";
import { parseAutoscaling } from "../../serving/autoscaling.ts";
import { loadManifests } from "../../serving/load.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { RevisionStore } from "../../serving/revision-store.ts";
import { type Revision, revisionFor } from "../../serving/revisions.ts";
import { applyRollout, resolveRoute, rolloutPercent } from "../../serving/routes.ts";
import { tempDir } from "../helpers/temp.ts";

function manifest(
  env = "v1",
  extra: Partial<ServiceManifest["spec"]> = {},
  templateName?: string,
): ServiceManifest {
  const text = JSON.stringify({
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "hello" },
    spec: {
      template: {
        ...(templateName ? { metadata: { name: templateName } } : {}),
        spec: { containers: [{ command: ["node", "app.ts"], env: [{ name: "V", value: env }] }] },
      },
      ...extra,
    },
  });
  const { services, problems } = loadManifests(text, "m.json");
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return services[0].manifest;
}

t.test("autoscaling defaults are Knative's", async (t) => {
  const { spec, problems } = parseAutoscaling({}, 0);
  t.same(problems, []);
  t.match(spec, {
    class: "kpa",
    metric: "concurrency",
    target: 100,
    targetUtilization: 0.7,
    minScale: 0,
    maxScale: 0,
    initialScale: 1,
    activationScale: 1,
    scaleDownDelayMs: 0,
    stableWindowMs: 60_000,
    panicWindowPercentage: 10,
    panicThresholdPercentage: 200,
    targetBurstCapacity: 211,
    scaleToZeroRetentionMs: 0,
  });
  t.equal(parseAutoscaling({}, 10).spec.target, 10, "containerConcurrency sets the concurrency target");
  t.equal(
    parseAutoscaling({ "autoscaling.knative.dev/target": "50" }, 10).spec.target,
    10,
    "a target above it is capped",
  );
  t.equal(parseAutoscaling({ "autoscaling.knative.dev/metric": "rps" }, 0).spec.target, 200);
  t.equal(
    parseAutoscaling({ "autoscaling.knative.dev/minScale": "2" }, 0).spec.minScale,
    2,
    "old spelling accepted",
  );
  t.equal(
    parseAutoscaling({ "autoscaling.knative.dev/scale-down-delay": "1m30s" }, 0).spec.scaleDownDelayMs,
    90_000,
  );
});

t.test("a new revision only when the template changes; names increment", async (t) => {
  const history: Revision[] = [];
  const first = revisionFor(manifest("v1"), history, 1);
  if (!("revision" in first)) throw new Error(first.error);
  t.equal(first.revision.name, "hello-00001");
  t.ok(first.created);
  history.push(first.revision);
  const same = revisionFor(manifest("v1", { traffic: [{ latestRevision: true, percent: 100 }] }), history, 2);
  t.match(
    same,
    { created: false, revision: { name: "hello-00001" } },
    "a traffic change is not a new revision",
  );
  const second = revisionFor(manifest("v2"), history, 3);
  t.match(second, { created: true, revision: { name: "hello-00002", sequence: 2 } });
});

t.test("template.metadata.name names the revision, and cannot be reused for another template", async (t) => {
  const named = revisionFor(manifest("v1", {}, "hello-blue"), [], 1);
  t.match(named, { created: true, revision: { name: "hello-blue" } });
  if (!("revision" in named)) return;
  t.match(revisionFor(manifest("v2", {}, "hello-blue"), [named.revision], 2), {
    error: /already exists with a different template/,
  });
  t.match(revisionFor(manifest("v2", {}, "other-blue"), [], 2), { error: /must start with "hello-"/ });
});

t.test("routes resolve to revisions, hosts and tag hosts", async (t) => {
  const route = resolveRoute(
    manifest("v2", {
      traffic: [
        { latestRevision: true, percent: 80 },
        { revisionName: "hello-00001", percent: 20, tag: "stable" },
        { latestRevision: true, percent: 0, tag: "canary" },
      ],
    }),
    { created: "hello-00002", ready: "hello-00002" },
    "example.com",
  );
  t.same(route.hosts, ["hello.default.example.com", "hello.default", "hello"]);
  t.same(route.traffic, [
    { revision: "hello-00002", percent: 80 },
    { revision: "hello-00001", percent: 20, tag: "stable" },
    { revision: "hello-00002", percent: 0, tag: "canary" },
  ]);
  t.same(route.tags.canary, {
    hosts: ["canary-hello.default.example.com", "canary-hello.default", "canary-hello"],
    revision: "hello-00002",
  });
  const fresh = resolveRoute(manifest(), { created: "hello-00001" }, "example.com");
  t.same(
    fresh.traffic,
    [{ revision: "hello-00001", percent: 100 }],
    "no ready revision yet: the latest created",
  );
});

t.test("gradual rollout starts at 1% and reaches 100% at the end of the duration", async (t) => {
  t.equal(rolloutPercent(0, 100_000, 0), 1);
  t.equal(rolloutPercent(0, 100_000, 50_000), 50);
  t.equal(rolloutPercent(0, 100_000, 99_999), 99);
  t.equal(rolloutPercent(0, 100_000, 100_000), 100);
  t.equal(rolloutPercent(0, 0, 0), 100, "no duration: all at once");
  t.same(applyRollout([{ revision: "b", percent: 100 }], "b", "a", 1), [
    { revision: "b", percent: 1 },
    { revision: "a", percent: 99 },
  ]);
  t.same(
    applyRollout(
      [
        { revision: "b", percent: 80 },
        { revision: "x", percent: 20 },
      ],
      "b",
      "a",
      50,
    ),
    [
      { revision: "b", percent: 40 },
      { revision: "a", percent: 40 },
      { revision: "x", percent: 20 },
    ],
  );
});

t.test("revision history survives a restart of the store", async (t) => {
  const dir = tempDir(t, "sluice-store-");
  const store = new RevisionStore(dir);
  const first = revisionFor(manifest("v1"), [], 1);
  if (!("revision" in first)) throw new Error("no revision");
  store.apply([manifest("v1")], [first.revision], 1);
  const second = revisionFor(manifest("v2"), [first.revision], 2);
  if (!("revision" in second)) throw new Error("no revision");
  store.apply([manifest("v2")], [second.revision], 2);
  store.markReady("default", "hello-00001", 5);
  store.close();

  const reopened = new RevisionStore(dir);
  t.teardown(() => reopened.close());
  const history = reopened.revisions("default", "hello");
  t.same(
    history.map((r) => r.name),
    ["hello-00001", "hello-00002"],
  );
  t.equal(history[0].readyAt, 5);
  t.equal(reopened.services()[0].manifest.spec.template.spec.containers[0].env?.[0].value, "v2");
  const third = revisionFor(manifest("v3"), history, 3);
  t.match(third, { revision: { name: "hello-00003" } }, "numbering continues after restart");
  t.throws(
    () => reopened.apply([manifest("v4")], [history[0]], 4),
    "a duplicate revision fails the whole apply",
  );
  t.equal(
    reopened.services()[0].manifest.spec.template.spec.containers[0].env?.[0].value,
    "v2",
    "…and changes nothing",
  );
});
