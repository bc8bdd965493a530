import t from "tap";
import type { RevisionDetail } from "../../autoscaler/revision-details.ts";
import { buildStatus } from "../../autoscaler/status.ts";
import type { DataPlaneState, RevisionState } from "../../common/state.ts";

function revision(name: string, service: string, extra: Partial<RevisionState> = {}): RevisionState {
  return {
    name,
    service,
    namespace: "default",
    mode: "proxy",
    containerConcurrency: 0,
    timeoutSeconds: 300,
    protocol: "http1",
    desiredPods: 0,
    endpoints: [],
    ...extra,
  };
}

function detail(extra: Partial<RevisionDetail> = {}): RevisionDetail {
  return {
    desired: 0,
    mode: "proxy",
    readyPods: 0,
    pods: 0,
    pendingPods: 0,
    metric: "concurrency",
    target: 100,
    observedStable: 0,
    observedPanic: 0,
    panicking: false,
    concurrency: 0,
    rps: 0,
    ...extra,
  };
}

const state: DataPlaneState = {
  generation: 7,
  domain: "example.com",
  services: {
    "default/zeta": {
      name: "zeta",
      namespace: "default",
      hosts: ["zeta.default.example.com"],
      traffic: [{ revision: "zeta-00001", percent: 100 }],
      tags: {},
      latestCreatedRevision: "zeta-00001",
    },
    "default/alpha": {
      name: "alpha",
      namespace: "default",
      hosts: ["alpha.default.example.com"],
      traffic: [
        { revision: "alpha-00001", percent: 90, tag: "stable" },
        { revision: "alpha-00002", percent: 10 },
      ],
      tags: { stable: { hosts: ["stable-alpha.default.example.com"], revision: "alpha-00001" } },
      latestCreatedRevision: "alpha-00002",
      latestReadyRevision: "alpha-00002",
    },
  },
  revisions: {
    "default/alpha-00001": revision("alpha-00001", "alpha", {
      desiredPods: 2,
      mode: "serve",
      containerConcurrency: 5,
    }),
    "default/zeta-00001": revision("zeta-00001", "zeta", {
      failure: { reason: "the app exited with code 1", logs: ["boom"] },
    }),
    "default/alpha-00002": revision("alpha-00002", "alpha", { desiredPods: 1 }),
  },
};

t.test("joins the published state with the controller's load, sorted and newest first", async (t) => {
  const status = buildStatus(
    state,
    {
      "default/alpha-00001": detail({
        readyPods: 2,
        pods: 3,
        pendingPods: 4,
        target: 5,
        observedStable: 4.5,
        observedPanic: 6,
        panicking: true,
        concurrency: 6.5,
        rps: 12,
      }),
      "default/alpha-00002": detail({
        metric: "rps",
        target: 50,
        observedStable: 20,
        observedPanic: 30,
        rps: 25,
      }),
      "default/zeta-00001": detail(),
    },
    { now: 1234 },
  );
  t.equal(status.time, 1234);
  t.equal(status.generation, 7);
  t.same(
    status.services.map((s) => s.name),
    ["alpha", "zeta"],
    "services sorted by namespace/name",
  );
  const [alpha, zeta] = status.services;
  t.same(
    alpha.revisions.map((r) => r.name),
    ["alpha-00002", "alpha-00001"],
    "newest revision first",
  );
  t.same(alpha.traffic, [
    { revision: "alpha-00001", percent: 90, tag: "stable", tagHosts: ["stable-alpha.default.example.com"] },
    { revision: "alpha-00002", percent: 10 },
  ]);
  t.same(alpha.revisions[1], {
    name: "alpha-00001",
    desiredPods: 2,
    readyPods: 2,
    pods: 3,
    pendingPods: 4,
    mode: "serve",
    containerConcurrency: 5,
    autoscaling: { metric: "concurrency", target: 5, panicking: true },
    concurrency: { current: 6.5, stable: 4.5, panic: 6 },
    rps: { current: 12 },
  });
  t.same(
    alpha.revisions[0].rps,
    { current: 25, stable: 20, panic: 30 },
    "the KPA's windows belong to the metric it scales on",
  );
  t.same(alpha.revisions[0].concurrency, { current: 0 });
  t.same(zeta.revisions[0].failure, { reason: "the app exited with code 1", logs: ["boom"] });
  t.notOk("latestReadyRevision" in zeta, "absent, not undefined, in the JSON");
});

t.test("no services: an empty list", async (t) => {
  t.same(
    buildStatus({ generation: 0, domain: "example.com", services: {}, revisions: {} }, {}, { now: 1 })
      .services,
    [],
  );
});

t.test("inactive services are listed among the others, marked, with nothing running", async (t) => {
  const status = buildStatus(
    state,
    {},
    {
      now: 1,
      inactive: [
        { namespace: "default", name: "beta" },
        { namespace: "staging", name: "alpha" },
      ],
    },
  );
  t.same(
    status.services.map((s) => [`${s.namespace}/${s.name}`, s.active]),
    [
      ["default/alpha", true],
      ["default/beta", false],
      ["default/zeta", true],
      ["staging/alpha", false],
    ],
  );
  t.same(status.services[1], {
    name: "beta",
    namespace: "default",
    active: false,
    hosts: [],
    traffic: [],
    revisions: [],
  });
});

t.test("the extras appear only where there are some: components, eventing, capacity", async (t) => {
  const empty = buildStatus(state, {}, { now: 1 });
  t.notOk("components" in empty || "eventing" in empty || "capacity" in empty, "absent, not undefined");
  // As the API passes them: each named, undefined where there is none.
  const unset = buildStatus(
    state,
    {},
    { now: 1, components: undefined, eventing: undefined, capacity: undefined },
  );
  t.notOk("components" in unset || "eventing" in unset || "capacity" in unset, "undefined ones absent too");
  const components = [
    {
      name: "router",
      state: "running" as const,
      pid: 42,
      ports: { http: 8080 },
      restarts: 0,
      startedAt: "2026-12-03T00:00:00.000Z",
    },
  ];
  const eventing = {
    adminUrl: "http://127.0.0.1:9/",
    error: "eventing did not answer",
    brokers: [],
    triggers: [],
    sources: [],
  };
  const capacity = { maxPods: 8, maxStarting: 2, pods: 8, pending: 3 };
  const full = buildStatus(state, {}, { now: 1, components, eventing, capacity });
  t.same(full.components, components);
  t.same(full.eventing, eventing);
  t.same(full.capacity, capacity);
});
