// The chart's Eventing CRDs against a real kube-apiserver, installed by a real helm: refused next to
// Knative Eventing's own CRDs (with a message saying what to do), installed with eventing.enabled;
// Knative's example YAML — a Broker, a Trigger, a PingSource, a KafkaSource v1beta1, a
// SinkBinding — is accepted unchanged with strict field validation and read back with nothing
// pruned; a Trigger's broker cannot change; a wrong type is refused with its path; `kubectl get`
// columns; upgrading the release keeps its CRDs, another release is refused.
import t from "tap";
import { Agent, request } from "undici";
import { parseAllDocuments } from "yaml";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { waitFor } from "../helpers/processes.ts";
import { CHART, helm, helmSkip, type Manifest } from "./chart.ts";

const skip = (await skipUnlessControlPlane(t)) || helmSkip();
const NAMESPACE = "sluice-system";
const ON = ["--set", "eventing.enabled=true", "--set", "eventing.natsUrl=nats://nats.nats.svc:4222"];

// From Knative's docs (eventing/brokers, triggers, sources/ping-source, kafka source, sinkbinding),
// unchanged but for names.
const KNATIVE_EXAMPLES = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: default
  annotations:
    eventing.knative.dev/broker.class: MTChannelBasedBroker
spec:
  config:
    apiVersion: v1
    kind: ConfigMap
    name: config-br-default-channel
    namespace: knative-eventing
  delivery:
    deadLetterSink:
      ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: dlq
    retry: 5
    backoffPolicy: exponential
    backoffDelay: "PT0.5S"
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: my-service-trigger
  namespace: default
spec:
  broker: default
  filter:
    attributes:
      type: dev.knative.samples.helloworld
      source: dev.knative.samples/helloworldsource
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: my-service
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: new-filters
  namespace: default
spec:
  broker: default
  filters:
    - any:
        - exact:
            type: com.github.push
        - prefix:
            type: com.gitlab.
  subscriber:
    uri: http://receiver.example.com/events
  delivery:
    retry: 3
    timeout: PT10S
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: test-ping-source
  namespace: default
spec:
  schedule: "*/2 * * * *"
  contentType: "application/json"
  data: '{"message": "Hello world!"}'
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
---
apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata:
  name: kafka-source
  namespace: default
spec:
  consumerGroup: knative-group
  bootstrapServers:
  - my-cluster-kafka-bootstrap.kafka:9092
  topics:
  - knative-demo-topic
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind-heartbeat
  namespace: default
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    selector:
      matchLabels:
        app: heartbeat-cron
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
  ceOverrides:
    extensions:
      sink: bound
`;

const PLURALS: Record<string, string> = {
  Broker: "brokers",
  Trigger: "triggers",
  PingSource: "pingsources",
  KafkaSource: "kafkasources",
  SinkBinding: "sinkbindings",
};

t.test("the Eventing CRDs against a real kube-apiserver", { skip, timeout: 180_000 }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const agent = new Agent({ connect: { ca: cp.caPem } });
  t.teardown(() => agent.close());
  const api = async (
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    body?: unknown,
    { contentType = "application/json", accept = "application/json" } = {},
  ): Promise<{ status: number; json: Manifest }> => {
    const res = await request(`${cp.server}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${cp.adminToken}`, "content-type": contentType, accept },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    try {
      return { status: res.statusCode, json: JSON.parse(text) };
    } catch {
      return { status: res.statusCode, json: { message: text } };
    }
  };
  const helmIn = (args: string[]) => helm([...args, "--kubeconfig", cp.kubeconfigPath]);
  const crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

  await t.test("next to Knative Eventing's own Broker CRD the install is refused", async (t) => {
    const knative = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: {
        name: "brokers.eventing.knative.dev",
        labels: { "eventing.knative.dev/release": "v1.16.0" },
      },
      spec: {
        group: "eventing.knative.dev",
        names: { kind: "Broker", plural: "brokers", singular: "broker", listKind: "BrokerList" },
        scope: "Namespaced",
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    };
    t.equal((await api("POST", crdPath, knative)).status, 201);
    const refused = helmIn(["install", "sluice", CHART, "-n", NAMESPACE, "--create-namespace", ...ON]);
    t.not(refused.status, 0);
    t.match(
      refused.stderr,
      /the CRD brokers\.eventing\.knative\.dev is already installed \(Knative Eventing/,
    );
    t.match(refused.stderr, /Remove Knative Eventing .* or install sluice with eventing\.enabled=false/);
    t.equal((await api("DELETE", `${crdPath}/brokers.eventing.knative.dev`)).status, 200);
    await waitFor(
      "Knative's CRD gone",
      async () => (await api("GET", `${crdPath}/brokers.eventing.knative.dev`)).status === 404,
      { timeoutMs: 30_000, everyMs: 100 },
    );
    helmIn(["uninstall", "sluice", "-n", NAMESPACE]); // whatever the failed install left
  });

  await t.test("helm install with eventing.enabled: every CRD established", async (t) => {
    const result = helmIn([
      "install",
      "sluice",
      CHART,
      "-n",
      NAMESPACE,
      "--create-namespace",
      "--wait=false",
      ...ON,
    ]);
    t.equal(result.status, 0, `helm install:\n${result.stdout}${result.stderr}`);
    t.match(
      result.stdout,
      /Eventing is on \(NATS at nats:\/\/nats\.nats\.svc:4222\)[\s\S]*http:\/\/sluice-eventing\.sluice-system\.svc\.cluster\.local\/<namespace>\/<broker>/,
      "NOTES.txt: where Brokers answer",
    );
    for (const name of [
      "brokers.eventing.knative.dev",
      "triggers.eventing.knative.dev",
      "kafkasources.sources.knative.dev",
      "pingsources.sources.knative.dev",
      "sinkbindings.sources.knative.dev",
      "githubsources.sources.knative.dev",
      "natssources.sources.sluice.dev",
    ])
      await waitFor(
        `${name} established`,
        async () =>
          (await api("GET", `${crdPath}/${name}`)).json.status?.conditions?.some(
            (c: Manifest) => c.type === "Established" && c.status === "True",
          ),
        { timeoutMs: 30_000, everyMs: 100 },
      );
    const deployment = await api("GET", `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/sluice-eventing`);
    t.equal(deployment.status, 200, "the eventing Deployment is accepted");
  });

  await t.test("Knative's example YAML applies unchanged, strict, nothing pruned", async (t) => {
    for (const doc of parseAllDocuments(KNATIVE_EXAMPLES)) {
      const object = doc.toJS() as Manifest;
      const [group, version] = object.apiVersion.split("/");
      const path = `/apis/${group}/${version}/namespaces/default/${PLURALS[object.kind]}/${object.metadata.name}`;
      const applied = await waitFor(
        `${object.kind} ${object.metadata.name} applied`,
        async () => {
          const res = await api(
            "PATCH",
            `${path}?fieldManager=test&fieldValidation=Strict&force=true`,
            object,
            {
              contentType: "application/apply-patch+yaml",
            },
          );
          return res.status === 429 ? undefined : res; // a CRD's storage may lag Established briefly
        },
        { timeoutMs: 20_000, everyMs: 100 },
      );
      t.equal(
        applied.status,
        201,
        `${object.kind} ${object.metadata.name}: ${applied.json.message ?? "created"}`,
      );
      t.same(applied.json.spec, object.spec, `${object.kind} ${object.metadata.name}: nothing pruned`);
    }
    const asV1 = await api(
      "GET",
      "/apis/sources.knative.dev/v1/namespaces/default/kafkasources/kafka-source",
    );
    t.equal(asV1.json.apiVersion, "sources.knative.dev/v1", "a v1beta1 KafkaSource is served as v1 too");
    t.same(asV1.json.spec.topics, ["knative-demo-topic"]);
  });

  await t.test("the schema and its rule refuse what they should, with the path", async (t) => {
    const triggers = "/apis/eventing.knative.dev/v1/namespaces/default/triggers";
    const current = (await api("GET", `${triggers}/my-service-trigger`)).json;
    const moved = await api(
      "PATCH",
      `${triggers}/my-service-trigger`,
      { spec: { broker: "other" } },
      {
        contentType: "application/merge-patch+json",
      },
    );
    t.equal(moved.status, 422);
    t.match(moved.json.message, /spec\.broker: Invalid value: .*spec\.broker cannot change/);
    t.equal((await api("GET", `${triggers}/my-service-trigger`)).json.spec.broker, current.spec.broker);

    const wrong = await api("POST", triggers, {
      apiVersion: "eventing.knative.dev/v1",
      kind: "Trigger",
      metadata: { name: "wrong" },
      spec: { broker: "default", subscriber: { uri: "http://x" }, delivery: { retry: "five" } },
    });
    t.equal(wrong.status, 422);
    t.match(
      wrong.json.message,
      /spec\.delivery\.retry: Invalid value: "string": spec\.delivery\.retry in body must be of type integer/,
    );
    const noBroker = await api("POST", triggers, {
      apiVersion: "eventing.knative.dev/v1",
      kind: "Trigger",
      metadata: { name: "nobroker" },
      spec: { subscriber: { uri: "http://x" } },
    });
    t.equal(noBroker.status, 422);
    t.match(noBroker.json.message, /spec\.broker: Required value/);
  });

  await t.test("kubectl get columns", async (t) => {
    const table = await api("GET", "/apis/eventing.knative.dev/v1/namespaces/default/brokers", undefined, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    t.same(
      table.json.columnDefinitions.map((c: Manifest) => c.name),
      ["Name", "URL", "Age", "Ready", "Reason"],
    );
    const triggers = await api(
      "GET",
      "/apis/eventing.knative.dev/v1/namespaces/default/triggers",
      undefined,
      {
        accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
      },
    );
    t.same(
      triggers.json.columnDefinitions.map((c: Manifest) => c.name),
      ["Name", "Broker", "Subscriber_URI", "Age", "Ready", "Reason"],
    );
  });

  await t.test("an upgrade keeps its CRDs; a second release is refused", async (t) => {
    const upgraded = helmIn(["upgrade", "sluice", CHART, "-n", NAMESPACE, "--wait=false", ...ON]);
    t.equal(upgraded.status, 0, `helm upgrade:\n${upgraded.stderr}`);
    const other = helmIn(["install", "other", CHART, "-n", "other", "--create-namespace", ...ON]);
    t.not(other.status, 0);
    t.match(other.stderr, /the CRD \S+ is already installed/);
    // Uninstalling keeps the CRDs (and so the users' resources).
    t.equal(helmIn(["uninstall", "sluice", "-n", NAMESPACE]).status, 0);
    t.equal((await api("GET", `${crdPath}/triggers.eventing.knative.dev`)).status, 200, "the CRD is kept");
    const kept = await api(
      "GET",
      "/apis/eventing.knative.dev/v1/namespaces/default/triggers/my-service-trigger",
    );
    t.equal(kept.status, 200, "and the Triggers in it");
  });
});
