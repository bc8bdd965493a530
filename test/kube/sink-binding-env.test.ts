// The pure half of SinkBinding on Kubernetes: an API object → a binding (or nothing, when
// eventing refuses it), the variables a revision gets, and the Deployment they go into (every
// user container, over a K_SINK the manifest sets; never the queue-proxy).
import t from "tap";
import { loadConfig } from "../../autoscaler/config.ts";
import { revisionDeployment } from "../../platform/kubernetes/deployment.ts";
import {
  SinkBindingCache,
  sinkBindingFrom,
  sinkEnvVars,
} from "../../platform/kubernetes/sink-binding-env.ts";
import { loadManifests } from "../../serving/load.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { revisionFor } from "../../serving/revisions.ts";

const OPTIONS = {
  brokerIngressUrl: "http://rel-sluice-eventing.sluice-system.svc.cluster.local",
  routerUrl: "http://router:80",
  domain: "example.com",
};

const binding = (name: string, spec: object, resourceVersion = "1") => ({
  apiVersion: "sources.knative.dev/v1",
  kind: "SinkBinding",
  metadata: { name, namespace: "shop", uid: "u", resourceVersion, generation: 1, managedFields: [] },
  spec,
  status: { conditions: [] },
});

const toService = { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "emitter" };
const toBroker = { ref: { apiVersion: "eventing.knative.dev/v1", kind: "Broker", name: "default" } };

function revision() {
  const { services } = loadManifests(
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: emitter, namespace: shop }
spec:
  template:
    metadata: { labels: { role: emitter } }
    spec:
      containers:
        - image: example.com/emitter
          ports: [{ containerPort: 8080 }]
          env: [{ name: K_SINK, value: "http://mine" }, { name: A, value: "1" }]
        - name: sidecar
          image: example.com/sidecar
`,
    "emitter.yaml",
  );
  const result = revisionFor(services[0].manifest as ServiceManifest, [], 1_700_000_000_000);
  if ("error" in result) throw new Error(result.error);
  return result.revision;
}

t.test("an API object becomes a binding only when eventing would serve it", async (t) => {
  t.ok(
    sinkBindingFrom(binding("ok", { subject: toService, sink: toBroker })),
    "server metadata and status dropped",
  );
  t.equal(
    sinkBindingFrom(
      binding("deploy", {
        subject: { apiVersion: "apps/v1", kind: "Deployment", name: "x" },
        sink: toBroker,
      }),
    ),
    undefined,
    "a Deployment subject: sluice binds Services only",
  );
  t.equal(
    sinkBindingFrom(
      binding("both", { subject: { ...toService, selector: { matchLabels: { a: "b" } } }, sink: toBroker }),
    ),
    undefined,
    "name and selector both",
  );
  t.equal(sinkBindingFrom(binding("nosink", { subject: toService })), undefined, "no sink");
});

t.test("the variables a revision gets", async (t) => {
  const r = revision();
  const cache = new SinkBindingCache();
  t.same(sinkEnvVars(cache.bindings([]), r, OPTIONS), [], "none bound: nothing");
  t.same(sinkEnvVars(cache.bindings([binding("b", { subject: toService, sink: toBroker })]), r, OPTIONS), [
    { name: "K_SINK", value: `${OPTIONS.brokerIngressUrl}/shop/default` },
  ]);
  const bySelector = binding(
    "b",
    {
      subject: {
        apiVersion: "serving.knative.dev/v1",
        kind: "Service",
        selector: { matchLabels: { role: "emitter" } },
      },
      sink: { ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "consumer" } },
      ceOverrides: { extensions: { team: "shop" } },
    },
    "2",
  );
  t.same(
    sinkEnvVars(cache.bindings([bySelector]), r, OPTIONS),
    [
      { name: "K_SINK", value: "http://consumer.shop.example.com" },
      { name: "K_SINK_ROUTER", value: "http://router:80/" },
      { name: "K_CE_OVERRIDES", value: '{"extensions":{"team":"shop"}}' },
    ],
    "a changed object is parsed again",
  );
  const other = binding("b", { subject: { ...toService, name: "other" }, sink: toBroker }, "3");
  t.same(sinkEnvVars(cache.bindings([other]), r, OPTIONS), [], "another Service's binding");
});

t.test("the Deployment: over every user container's own K_SINK, not the queue-proxy's", async (t) => {
  const r = revision();
  const injectedEnv = sinkEnvVars(
    [sinkBindingFrom(binding("b", { subject: toService, sink: toBroker })) as never],
    r,
    OPTIONS,
  );
  const built = revisionDeployment({
    revision: r,
    revisionUid: "u",
    replicas: 1,
    queueProxy: { image: "sluice" },
    injectedEnv,
  });
  if (!("deployment" in built)) throw new Error(JSON.stringify(built.problems));
  const containers = built.deployment.spec?.template.spec?.containers ?? [];
  const env = (name: string) => containers.find((c) => c.name === name)?.env ?? [];
  const sink = `${OPTIONS.brokerIngressUrl}/shop/default`;
  t.same(
    env("user-container").filter((v) => v.name === "K_SINK"),
    [{ name: "K_SINK", value: sink }],
    "the manifest's K_SINK replaced, once",
  );
  t.ok(
    env("user-container").some((v) => v.name === "A"),
    "the rest kept",
  );
  t.same(
    env("sidecar").filter((v) => v.name === "K_SINK"),
    [{ name: "K_SINK", value: sink }],
    "the other user container too",
  );
  t.notOk(
    env("queue-proxy").some((v) => v.name === "K_SINK"),
    "not the queue-proxy",
  );

  const plain = revisionDeployment({
    revision: r,
    revisionUid: "u",
    replicas: 1,
    queueProxy: { image: "sluice" },
  });
  if (!("deployment" in plain)) throw new Error("refused");
  t.same(
    plain.deployment.spec?.template.spec?.containers[0].env?.find((v) => v.name === "K_SINK"),
    { name: "K_SINK", value: "http://mine" },
    "unbound: the manifest's own",
  );
});

t.test("the autoscaler's settings: SLUICE_EVENTING_INGRESS_URL needs SLUICE_ROUTER_URL", async (t) => {
  const base = {
    SLUICE_PLATFORM: "kubernetes",
    POD_NAMESPACE: "sluice-system",
    SLUICE_QUEUE_PROXY_IMAGE: "sluice",
  };
  t.equal(loadConfig(base).kubernetes?.sinkBindings, undefined, "unset: SinkBindings not watched");
  t.same(
    loadConfig({
      ...base,
      SLUICE_EVENTING_INGRESS_URL: "http://ev.sluice.svc/",
      SLUICE_ROUTER_URL: "http://router:80",
    }).kubernetes?.sinkBindings,
    { brokerIngressUrl: "http://ev.sluice.svc", routerUrl: "http://router:80" },
  );
  t.throws(
    () => loadConfig({ ...base, SLUICE_EVENTING_INGRESS_URL: "http://ev" }),
    /SLUICE_ROUTER_URL: with SLUICE_EVENTING_INGRESS_URL set/,
  );
  t.throws(
    () => loadConfig({ ...base, SLUICE_EVENTING_INGRESS_URL: "ev/x", SLUICE_ROUTER_URL: "http://r" }),
    /SLUICE_EVENTING_INGRESS_URL="ev\/x": expected http/,
  );
});
