// Kubernetes mode's pure parts (eventing/kubernetes/), no cluster: an API object becomes the
// document its author wrote; each resource is validated apart (a bad one is left out with its
// problems, the rest served, a Trigger of a refused Broker refused for that); the status written
// (address, subscriber URI, Ready with the problem, transition times kept); the configuration;
// which sources a replica serves (leader or not, a GitHubSource's Secret there or not).
import t from "tap";
import { ConfigError } from "../../common/env.ts";
import { createLogger } from "../../common/log.ts";
import { loadConfig } from "../../eventing/config.ts";
import { clusterApply } from "../../eventing/kubernetes/cluster-apply.ts";
import { kindNamed } from "../../eventing/kubernetes/kinds.ts";
import { buildResources } from "../../eventing/kubernetes/resource-set.ts";
import { resourceStatus, targetUri } from "../../eventing/kubernetes/resource-status.ts";
import { type EventingDocument, toDocument } from "../../eventing/kubernetes/to-document.ts";
import { compileSources } from "../../eventing/resources/compile-sources.ts";

const resolve = { routerUrl: "http://router.sluice:80", domain: "example.com" };
const kind = (name: string) => {
  const found = kindNamed(name);
  if (!found) throw new Error(`no kind ${name}`);
  return found;
};

/** As the API server hands it out: server metadata, a status, maybe no apiVersion (list items). */
function served(kindName: string, name: string, spec: unknown, extra: Record<string, unknown> = {}) {
  return {
    kind: kindName,
    metadata: {
      name,
      namespace: "shop",
      uid: "1b9e…",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-12-01T10:00:00Z",
      managedFields: [{ manager: "kubectl" }],
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{…}" },
      ...extra,
    },
    spec,
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

const doc = (kindName: string, name: string, spec: unknown, extra?: Record<string, unknown>) =>
  toDocument(served(kindName, name, spec, extra), kind(kindName));

t.test("an API object → the author's document", async (t) => {
  const document = doc("KafkaSource", "orders", { topics: ["t"] }, { labels: { app: "x" } });
  t.same(document, {
    apiVersion: "sources.knative.dev/v1",
    kind: "KafkaSource",
    metadata: { name: "orders", namespace: "shop", labels: { app: "x" } },
    spec: { topics: ["t"] },
  });
  const kept = doc("Broker", "b", undefined, {
    annotations: { a: "1", "kubectl.kubernetes.io/last-applied-configuration": "{}" },
  });
  t.same(kept.metadata.annotations, { a: "1" }, "other annotations are the author's");
});

t.test("each resource on its own: one bad resource does not stop the others", async (t) => {
  const documents: EventingDocument[] = [
    doc("Broker", "default", {}),
    doc("Broker", "slow", { delivery: { backoffDelay: "soon" } }),
    doc("Trigger", "ok", { broker: "default", subscriber: { uri: "http://sink.example/ok" } }),
    doc("Trigger", "on-slow", { broker: "slow", subscriber: { uri: "http://sink.example/x" } }),
    doc("Trigger", "nobroker", { broker: "missing", subscriber: { uri: "http://sink.example/x" } }),
    doc("Trigger", "newer", { broker: "default", subscriber: { uri: "http://x.example" }, future: true }),
    doc("Trigger", "to-service", {
      broker: "default",
      subscriber: {
        ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "fulfil" },
        uri: "/in",
      },
    }),
    doc("PingSource", "tick", { schedule: "not cron", sink: { uri: "http://x.example" } }),
    doc("PingSource", "to-broker", {
      schedule: "*/2 * * * *",
      sink: { ref: { apiVersion: "eventing.knative.dev/v1", kind: "Broker", name: "slow" } },
    }),
  ];
  const { set, problems, sources } = buildResources(documents, resolve);
  t.same([...set.brokers.keys()], ["shop/default"], "the valid Broker is served");
  t.same(
    set.triggers.map((trigger) => trigger.name),
    ["ok", "to-service"],
    "the valid Triggers are served",
  );
  t.same(sources, [], "no valid source");
  t.same(problems.get("Broker shop/default"), []);
  t.match(problems.get("Broker shop/slow"), [/^spec\.delivery\.backoffDelay: /]);
  t.match(problems.get("Trigger shop/on-slow"), [/^spec\.broker: no Broker "slow" in namespace "shop"$/]);
  t.match(problems.get("Trigger shop/nobroker"), [/^spec\.broker: no Broker "missing" in namespace "shop"$/]);
  t.match(problems.get("Trigger shop/newer"), [/future/], "a field sluice does not know is named");
  t.match(problems.get("PingSource shop/tick"), [/^spec\.schedule: /]);
  t.match(problems.get("PingSource shop/to-broker"), [/Broker "slow"/], "a sink on a refused Broker");
  for (const [id, messages] of problems)
    for (const message of messages) t.notMatch(message, /:\d+:\d+/, `${id}: no file positions in status`);
});

t.test("status: address, subscriber, Ready with the problem, times kept", async (t) => {
  const earlier = new Date("2026-12-01T10:00:00Z");
  const now = new Date("2026-12-01T11:00:00Z");
  const broker = resourceStatus(
    {
      kind: "Broker",
      generation: 2,
      problems: [],
      address: "http://ev.sluice.svc.cluster.local/shop/default",
    },
    undefined,
    earlier,
  );
  t.same(broker, {
    observedGeneration: 2,
    address: { url: "http://ev.sluice.svc.cluster.local/shop/default" },
    conditions: [
      { type: "Addressable", status: "True", lastTransitionTime: "2026-12-01T10:00:00Z" },
      { type: "Ready", status: "True", lastTransitionTime: "2026-12-01T10:00:00Z" },
    ],
  });
  const again = resourceStatus(
    {
      kind: "Broker",
      generation: 2,
      problems: [],
      address: "http://ev.sluice.svc.cluster.local/shop/default",
    },
    broker,
    now,
  );
  t.same(again, broker, "the same facts later: the same status (nothing to write)");

  const refused = resourceStatus(
    {
      kind: "Broker",
      generation: 3,
      problems: ["spec.delivery.retry: a", "spec.x: b"],
      address: "http://a/b/c",
    },
    broker,
    now,
  );
  t.same(refused, {
    observedGeneration: 3,
    conditions: [
      {
        type: "Ready",
        status: "False",
        reason: "InvalidSpec",
        message: "spec.delivery.retry: a; spec.x: b",
        lastTransitionTime: "2026-12-01T11:00:00Z",
      },
    ],
  });
  const source = resourceStatus(
    {
      kind: "GitHubSource",
      generation: 1,
      problems: [],
      sinkUri: "http://x",
      notReady: { reason: "NotSupported", message: "why" },
    },
    undefined,
    now,
  );
  t.match(source, {
    sinkUri: "http://x",
    conditions: [{ type: "Ready", status: "False", reason: "NotSupported" }],
  });
  t.equal(
    targetUri({ url: "http://router.sluice:80/in", host: "fulfil.shop.example.com", describe: "" }),
    "http://fulfil.shop.example.com/in",
    "a Service's own address, not the router's",
  );
  t.equal(targetUri({ url: "http://x.example/a", describe: "" }), "http://x.example/a");
});

t.test("config: SLUICE_PLATFORM=kubernetes", async (t) => {
  const config = loadConfig({
    SLUICE_PLATFORM: "kubernetes",
    EVENTING_INGRESS_URL: "http://ev.sluice.svc.cluster.local/",
    SLUICE_KUBECONFIG: "/tmp/kc",
  });
  t.match(config.kubernetes, {
    ingressUrl: "http://ev.sluice.svc.cluster.local",
    kubeconfig: "/tmp/kc",
    lease: undefined,
    leaseDurationMs: 15_000,
  });
  t.same(
    loadConfig({
      SLUICE_PLATFORM: "kubernetes",
      EVENTING_INGRESS_URL: "http://e",
      SLUICE_LEASE_NAME: "rel-sluice-eventing",
      POD_NAMESPACE: "sluice-system",
      POD_NAME: "eventing-0",
      SLUICE_LEASE_DURATION_SECONDS: "4",
    }).kubernetes,
    {
      ingressUrl: "http://e",
      kubeconfig: undefined,
      lease: { name: "rel-sluice-eventing", namespace: "sluice-system" },
      identity: "eventing-0",
      leaseDurationMs: 4_000,
    },
    "SLUICE_LEASE_NAME: the sources run on the Lease's holder",
  );
  t.equal(loadConfig({}).platform, "local", "local by default");
  t.equal(loadConfig({}).kubernetes, undefined);
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };
  t.match(problems({ SLUICE_PLATFORM: "kubernetes" }), [/^EVENTING_INGRESS_URL: .* not set/]);
  t.match(
    problems({ SLUICE_PLATFORM: "kubernetes", EVENTING_INGRESS_URL: "http://e", SLUICE_LEASE_NAME: "l" }),
    [/^SLUICE_LEASE_NAMESPACE \(or POD_NAMESPACE\): SLUICE_LEASE_NAME is set/],
  );
  t.match(problems({ SLUICE_PLATFORM: "kubernetes", EVENTING_INGRESS_URL: "ev.svc" }), [
    /EVENTING_INGRESS_URL="ev.svc": expected http/,
  ]);
  t.match(
    problems({ SLUICE_PLATFORM: "kubernetes", EVENTING_INGRESS_URL: "http://e", EVENTING_FILES: "a.yaml" }),
    [/^EVENTING_FILES: not used with SLUICE_PLATFORM=kubernetes/],
  );
  t.match(problems({ SLUICE_PLATFORM: "cluster" }), [
    /SLUICE_PLATFORM="cluster": expected local or kubernetes/,
  ]);
});

t.test(
  "what a replica serves: the leader's sources on the leader only, GitHubSources everywhere",
  async (t) => {
    const documents = [
      toDocument(
        served("PingSource", "tick", { schedule: "* * * * *", sink: { uri: "http://r/ping" } }),
        kind("PingSource"),
      ),
      toDocument(
        served("GitHubSource", "repo", {
          ownerAndRepository: "o/r",
          eventTypes: ["push"],
          secretToken: { secretKeyRef: { name: "gh", key: "secret" } },
          sink: { uri: "http://r/gh" },
        }),
        kind("GitHubSource"),
      ),
    ];
    const resources = buildResources(documents, resolve);
    const applied: { kinds: string[]; secrets: ReadonlyMap<string, string> | undefined }[] = [];
    const running: { kind: string; namespace: string; name: string }[] = [];
    let leading = true;
    let secretThere = false;
    const served_ = clusterApply({
      runtime: { apply: async () => {} },
      sources: {
        apply: async (next, secrets) => {
          applied.push({ kinds: next.map((s) => s.kind), secrets });
          running.splice(0, running.length, ...next);
          return { started: [], restarted: [], stopped: [], unchanged: [] };
        },
        get sources() {
          return running as never;
        },
      },
      compileSources: (manifests) =>
        compileSources(manifests, { ...resolve, brokerIngressUrl: "http://ingress" }),
      leading: () => leading,
      readSecrets: async (sources) => ({
        values: secretThere ? new Map([["shop/gh/secret", "s3cret"]]) : new Map(),
        problems: secretThere
          ? new Map()
          : new Map(
              sources.map((s) => [
                `GitHubSource shop/${s.metadata.name}`,
                'secretToken: Secret "gh" in namespace "shop" not found',
              ]),
            ),
      }),
      log: createLogger("test", "warn"),
    });
    t.equal(await served_.apply(resources), false, "a GitHubSource without its Secret: try again later");
    t.same(applied.at(-1)?.kinds, ["PingSource"]);
    t.match(served_.notRunning("GitHubSource shop/repo"), /Secret "gh" in namespace "shop" not found/);
    secretThere = true;
    t.equal(await served_.apply(resources), true);
    t.same(applied.at(-1)?.kinds, ["PingSource", "GitHubSource"], "the leader runs both");
    t.equal(applied.at(-1)?.secrets?.get("shop/gh/secret"), "s3cret", "with the Secret's value");
    t.equal(served_.notRunning("GitHubSource shop/repo"), undefined);
    leading = false;
    t.equal(await served_.apply(resources), true);
    t.same(applied.at(-1)?.kinds, ["GitHubSource"], "a follower serves the webhook only");
  },
);
