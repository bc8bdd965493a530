import type { V1Pod } from "@kubernetes/client-node";
import t from "tap";
import { revisionHealth, revisionStatus } from "../../../platform/kubernetes/revision-status.ts";
import {
  type ServiceFacts,
  serviceStatus,
  statusTraffic,
} from "../../../platform/kubernetes/service-status.ts";
import { checkServiceObject } from "../../../platform/kubernetes/validation.ts";

const T0 = new Date("2026-12-01T10:00:00.500Z");
const T1 = new Date("2026-12-01T10:05:00Z");

function serviceObject(spec: Record<string, unknown>, annotations: Record<string, unknown> = {}) {
  return {
    apiVersion: "serving.sluice.dev/v1",
    kind: "Service",
    metadata: {
      name: "shop",
      namespace: "prod",
      generation: 3,
      uid: "u",
      resourceVersion: "17",
      creationTimestamp: "2026-12-01T09:00:00Z",
      managedFields: [{ manager: "kubectl" }],
    },
    spec: {
      template: {
        metadata: { annotations },
        spec: { containers: [{ image: "ghcr.io/acme/shop:1" }] },
      },
      ...spec,
    },
    status: { observedGeneration: 2 },
  };
}

const imagePullPod: V1Pod = {
  metadata: { name: "shop-00002-deployment-abc" },
  status: {
    conditions: [{ type: "Ready", status: "False" }],
    containerStatuses: [
      {
        name: "user-container",
        image: "ghcr.io/acme/shop:nope",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: {
          waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "ghcr.io/acme/shop:nope"' },
        },
      },
    ],
  },
};

t.test("a valid Service object passes sluice's validation, group and server fields aside", async (t) => {
  const check = checkServiceObject(serviceObject({}), []);
  t.same(check.problems, []);
  t.equal(check.manifest?.metadata.name, "shop");
});

t.test("an invalid manifest: Ready=False with the reason and every message", async (t) => {
  const object = serviceObject(
    {
      traffic: [
        { revisionName: "shop-00001", percent: 60 },
        { latestRevision: true, percent: 30 },
      ],
    },
    { "autoscaling.knative.dev/window": "forever", "autoscaling.knative.dev/min-scale": "-1" },
  );
  const { problems, manifest } = checkServiceObject(object, ["shop-00001"]);
  t.equal(manifest, undefined);
  t.ok(problems.length >= 3, problems.join("\n"));
  t.match(problems.join("\n"), /window/);
  t.match(problems.join("\n"), /min-scale/);
  t.match(problems.join("\n"), /100/);

  // The last accepted version keeps running and serving.
  const facts: ServiceFacts = {
    name: "shop",
    namespace: "prod",
    generation: 3,
    problems,
    latestCreatedRevision: "shop-00001",
    latestReadyRevision: "shop-00001",
    revisions: { "shop-00001": { state: "ready" } },
    traffic: [{ revisionName: "shop-00001", latestRevision: true, percent: 100 }],
    domain: "example.com",
  };
  const status = serviceStatus(facts, undefined, T0);
  t.equal(status.observedGeneration, 3);
  const ready = status.conditions.find((c) => c.type === "Ready");
  t.equal(ready?.status, "False");
  t.equal(ready?.reason, "InvalidSpec");
  for (const problem of problems) t.ok(ready?.message?.includes(problem), `message has: ${problem}`);
  t.match(
    status.conditions.find((c) => c.type === "ConfigurationsReady"),
    { status: "False", reason: "InvalidSpec" },
  );
  t.match(
    status.conditions.find((c) => c.type === "RoutesReady"),
    { status: "True" },
    "still routing the last good",
  );
  t.equal(status.latestReadyRevisionName, "shop-00001");
  t.equal(ready?.lastTransitionTime, "2026-12-01T10:00:00Z");
});

t.test("Knative's container rules land in the status too", async (t) => {
  const object = serviceObject({});
  (object.spec.template.spec as { containers: unknown[] }).containers = [
    { image: "a", ports: [{ containerPort: 8012 }], env: [{ name: "PORT", value: "1" }] },
  ];
  const { problems } = checkServiceObject(object, []);
  t.match(problems, [
    /env\[0\]\.name: "PORT" is a reserved environment variable/,
    /containerPort: 8012 is a reserved port/,
  ]);
});

t.test("a revision failing with ImagePullBackOff", async (t) => {
  const health = revisionHealth([imagePullPod], false);
  t.match(health, { state: "failed", failure: { reason: "ImagePullBackOff" } });
  const facts: ServiceFacts = {
    name: "shop",
    namespace: "prod",
    generation: 4,
    problems: [],
    latestCreatedRevision: "shop-00002",
    latestReadyRevision: "shop-00001",
    revisions: { "shop-00001": { state: "ready" }, "shop-00002": health },
    traffic: [{ revisionName: "shop-00001", latestRevision: true, percent: 100 }],
    domain: "example.com",
  };
  const status = serviceStatus(facts, undefined, T0);
  const byType = Object.fromEntries(status.conditions.map((c) => [c.type, c]));
  t.equal(byType.Ready.status, "False");
  t.equal(byType.Ready.reason, "RevisionFailed");
  t.match(
    byType.Ready.message,
    /Revision "shop-00002" failed: ImagePullBackOff: container user-container: cannot pull image ghcr\.io\/acme\/shop:nope/,
  );
  t.equal(byType.ConfigurationsReady.status, "False");
  t.equal(byType.RoutesReady.status, "True", "traffic stays on the ready revision");
  t.equal(status.latestCreatedRevisionName, "shop-00002");
  t.equal(status.latestReadyRevisionName, "shop-00001");

  // The failing revision itself.
  const revision = revisionStatus(health, { desired: 1, actual: 0 }, undefined, T0);
  const conditions = Object.fromEntries(revision.conditions.map((c) => [c.type, c]));
  t.match(conditions.Ready, { status: "False", reason: "ImagePullBackOff" });
  t.match(conditions.ContainerHealthy, { status: "False", reason: "ImagePullBackOff" });
  t.match(conditions.ResourcesAvailable, { status: "True" });
  t.match(conditions.Active, { status: "True" });
});

t.test("ready with split traffic and tags", async (t) => {
  const object = serviceObject({
    traffic: [
      { revisionName: "shop-00001", percent: 80, tag: "stable" },
      { latestRevision: true, percent: 20, tag: "canary" },
      { revisionName: "shop-00001", percent: 0, tag: "old" },
    ],
  });
  const { manifest, problems } = checkServiceObject(object, ["shop-00001", "shop-00002"]);
  t.same(problems, []);
  if (!manifest) throw new Error("no manifest");
  const traffic = statusTraffic(manifest, { created: "shop-00002", ready: "shop-00002" }, "example.com");
  t.same(traffic, [
    {
      revisionName: "shop-00001",
      latestRevision: false,
      percent: 80,
      tag: "stable",
      url: "http://stable-shop.prod.example.com",
    },
    {
      revisionName: "shop-00002",
      latestRevision: true,
      percent: 20,
      tag: "canary",
      url: "http://canary-shop.prod.example.com",
    },
    {
      revisionName: "shop-00001",
      latestRevision: false,
      percent: 0,
      tag: "old",
      url: "http://old-shop.prod.example.com",
    },
  ]);
  const facts: ServiceFacts = {
    name: "shop",
    namespace: "prod",
    generation: 5,
    problems: [],
    latestCreatedRevision: "shop-00002",
    latestReadyRevision: "shop-00002",
    revisions: { "shop-00001": { state: "ready" }, "shop-00002": { state: "ready" } },
    traffic,
    domain: "example.com",
  };
  const status = serviceStatus(facts, undefined, T0);
  t.same(
    status.conditions.map((c) => [c.type, c.status]),
    [
      ["Ready", "True"],
      ["ConfigurationsReady", "True"],
      ["RoutesReady", "True"],
    ],
  );
  t.equal(status.url, "http://shop.prod.example.com");
  t.same(status.traffic, traffic);
  t.equal(status.observedGeneration, 5);

  // Written again later with nothing changed: the same times, so the same object.
  t.same(serviceStatus(facts, status, T1), status);
  // A change moves only the changed condition's time.
  const scaling = serviceStatus(
    {
      ...facts,
      generation: 6,
      latestCreatedRevision: "shop-00003",
      revisions: { ...facts.revisions, "shop-00003": { state: "scaling" } },
    },
    status,
    T1,
  );
  const times = Object.fromEntries(scaling.conditions.map((c) => [c.type, [c.status, c.lastTransitionTime]]));
  t.same(times.ConfigurationsReady, ["Unknown", "2026-12-01T10:05:00Z"]);
  t.same(times.Ready, ["Unknown", "2026-12-01T10:05:00Z"]);
  t.same(times.RoutesReady, ["True", "2026-12-01T10:00:00Z"], "unchanged: time preserved");
});

t.test("routes: a missing or failed revision in traffic, and nothing yet", async (t) => {
  const base: ServiceFacts = {
    name: "a",
    namespace: "default",
    generation: 1,
    problems: [],
    revisions: {},
    traffic: [],
    domain: "example.com",
  };
  const nothing = serviceStatus(base, undefined, T0);
  t.same(
    nothing.conditions.map((c) => [c.type, c.status]),
    [
      ["Ready", "Unknown"],
      ["ConfigurationsReady", "Unknown"],
      ["RoutesReady", "Unknown"],
    ],
  );
  t.notOk("traffic" in nothing);
  const missing = serviceStatus(
    {
      ...base,
      latestCreatedRevision: "a-00001",
      revisions: { "a-00001": { state: "ready" } },
      traffic: [{ revisionName: "a-00009", latestRevision: false, percent: 100 }],
    },
    undefined,
    T0,
  );
  t.match(
    missing.conditions.find((c) => c.type === "RoutesReady"),
    { status: "False", reason: "RevisionMissing" },
  );
  t.match(
    missing.conditions.find((c) => c.type === "Ready"),
    { status: "False", reason: "RevisionMissing" },
  );
});

t.test("revision health and status: scaling, ready at zero, unschedulable", async (t) => {
  const starting: V1Pod = { metadata: { name: "p" }, status: { phase: "Pending" } };
  t.same(revisionHealth([starting], false), { state: "scaling" });
  t.same(revisionHealth([], true), { state: "ready" }, "once ready, ready at zero");
  const atZero = revisionStatus({ state: "ready" }, { desired: 0, actual: 0 }, undefined, T0, 1);
  t.equal(atZero.observedGeneration, 1);
  t.match(Object.fromEntries(atZero.conditions.map((c) => [c.type, c.status])), {
    Ready: "True",
    Active: "False",
  });
  const pending = revisionStatus(
    {
      state: "failed",
      failure: {
        kind: "unschedulable",
        reason: "Unschedulable",
        message: "the pod cannot be scheduled: no nodes",
      },
    },
    { desired: 1, actual: 0 },
    undefined,
    T0,
  );
  t.match(
    pending.conditions.find((c) => c.type === "ResourcesAvailable"),
    { status: "False", reason: "Unschedulable" },
  );
  t.match(
    pending.conditions.find((c) => c.type === "Ready"),
    { status: "False", reason: "Unschedulable" },
  );
  const scaling = revisionStatus({ state: "scaling" }, { desired: 1, actual: 1 }, undefined, T0);
  t.match(
    scaling.conditions.find((c) => c.type === "Ready"),
    { status: "Unknown", reason: "Deploying" },
  );
});
