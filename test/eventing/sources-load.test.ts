// Source manifests: Knative's KafkaSource (v1 and v1beta1), PingSource, GitHubSource and
// SinkBinding YAML, and sluice's NatsSource, load unchanged; every problem comes with
// file:line:col; sinks resolve to a Service (through the router), a Broker (its ingress) or a
// uri; SinkBinding gives a Service its K_SINK; secrets come from the environment or files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { compileSources } from "../../eventing/resources/compile-sources.ts";
import { loadEventingManifests } from "../../eventing/resources/load.ts";
import type { SinkBindingManifest } from "../../eventing/resources/source-manifest.ts";
import { validateSources } from "../../eventing/resources/validate-sources.ts";
import { readSecret, secretEnvName } from "../../eventing/sources/secrets.ts";
import { sinkBindingEnv } from "../../eventing/sources/sink-binding.ts";
import { byPosition, formatProblem } from "../../serving/load.ts";
import { tempDir } from "../helpers/temp.ts";

const options = {
  routerUrl: "http://127.0.0.1:8080",
  domain: "example.com",
  brokerIngressUrl: "http://127.0.0.1:8070",
};

// As Knative's docs write them.
const KNATIVE = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: shop }
---
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: kafka-source
  namespace: shop
  labels:
    kafkasources.sources.knative.dev/key-type: int
spec:
  consumerGroup: knative-group
  bootstrapServers:
    - my-cluster-kafka-bootstrap.kafka:9092
  topics:
    - knative-demo-topic
  initialOffset: earliest
  ordering: ordered
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
---
apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: { name: to-broker, namespace: shop }
spec:
  bootstrapServers: ["a:9092,b:9092"]
  topics: [comments]
  sink:
    ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: test-ping-source, namespace: shop }
spec:
  schedule: "*/2 * * * *"
  timezone: Europe/Paris
  contentType: "application/json"
  data: '{"message": "Hello world!"}'
  sink:
    uri: http://collector.example.net/ping
  ceOverrides:
    extensions: { team: web }
---
apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: { name: github-source-sample, namespace: shop }
spec:
  eventTypes:
    - pull_request
  ownerAndRepository: octo/hello
  accessToken:
    secretKeyRef: { name: github-secret, key: accessToken }
  secretToken:
    secretKeyRef: { name: github-secret, key: secretToken }
  sink:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: github-message-dumper }
---
apiVersion: sources.sluice.dev/v1
kind: NatsSource
metadata: { name: orders, namespace: shop }
spec:
  subject: orders.>
  queueGroup: sluice
  sink: { ref: { kind: Broker, name: default } }
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: bind-heartbeat, namespace: shop }
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    selector:
      matchLabels: { app: heartbeat }
  sink:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: event-display }
    uri: /in
  ceOverrides:
    extensions: { sink: bound }
`;

t.test("Knative's source YAML loads unchanged and compiles", async (t) => {
  const loaded = loadEventingManifests(KNATIVE, "sources.yaml");
  t.same(loaded.problems, []);
  t.same(
    loaded.sources.map((s) => s.manifest.kind),
    ["KafkaSource", "KafkaSource", "PingSource", "GitHubSource", "NatsSource"],
  );
  t.equal(loaded.sinkBindings.length, 1);
  t.same(validateSources(loaded), []);
  const [kafka, toBroker, ping, github, nats] = compileSources(
    loaded.sources.map((s) => s.manifest),
    options,
  );
  t.match(kafka, {
    kind: "KafkaSource",
    consumerGroup: "knative-group",
    initialOffset: "earliest",
    keyType: "int",
    delivery: undefined,
    sink: { url: "http://127.0.0.1:8080/", host: "event-display.shop.example.com" },
  });
  t.match(toBroker, {
    bootstrapServers: ["a:9092", "b:9092"],
    consumerGroup: "sluice-kafkasource.shop.to-broker",
    initialOffset: "latest",
    sink: { url: "http://127.0.0.1:8070/shop/default", describe: "Broker shop/default" },
  });
  t.match(ping, {
    schedule: { pattern: "*/2 * * * *", timezone: "Europe/Paris" },
    extensions: { team: "web" },
    contentType: "application/json",
  });
  t.equal(
    Buffer.from((ping.kind === "PingSource" && ping.data) || []).toString(),
    '{"message": "Hello world!"}',
  );
  t.match(github, {
    eventTypes: new Set(["pull_request"]),
    secretToken: { name: "github-secret", key: "secretToken" },
  });
  t.match(nats, {
    subject: "orders.>",
    queueGroup: "sluice",
    servers: undefined,
    sink: { url: "http://127.0.0.1:8070/shop/default" },
  });

  const bindings = loaded.sinkBindings.map((b) => b.manifest as SinkBindingManifest);
  t.same(
    sinkBindingEnv(bindings, { namespace: "shop", name: "beat", labels: { app: "heartbeat" } }, options),
    {
      K_SINK: "http://event-display.shop.example.com/in",
      K_SINK_ROUTER: "http://127.0.0.1:8080/in",
      K_CE_OVERRIDES: '{"extensions":{"sink":"bound"}}',
    },
  );
  t.equal(
    sinkBindingEnv(bindings, { namespace: "shop", name: "other", labels: { app: "x" } }, options),
    undefined,
  );
  t.equal(
    sinkBindingEnv(bindings, { namespace: "web", name: "beat", labels: { app: "heartbeat" } }, options),
    undefined,
  );
});

t.test("a SinkBinding to a Broker or a URL, by name", async (t) => {
  const loaded = loadEventingManifests(
    `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: b }
spec:
  subject: { apiVersion: serving.knative.dev/v1, kind: Service, name: emitter }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
    "b.yaml",
  );
  const bindings = loaded.sinkBindings.map((b) => b.manifest);
  t.same(sinkBindingEnv(bindings, { namespace: "default", name: "emitter" }, options), {
    K_SINK: "http://127.0.0.1:8070/default/default",
  });
});

t.test("every problem, with file:line:col", async (t) => {
  const text = `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: k }
spec:
  bootstrapServers: ["kafka"]
  topics: []
  net: { tls: { enable: true } }
  sink:
    ref: { apiVersion: v1, kind: Pod, name: p }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: p }
spec:
  schedule: "@every 1m"
  timezone: Mars/Olympus
  data: x
  dataBase64: eA==
  sink: { uri: "ftp://x" }
---
apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: { name: g }
spec:
  ownerAndRepository: o/r
  eventTypes: [push, shove]
  secretToken: {}
  sink: { ref: { kind: Broker, name: missing } }
---
apiVersion: sources.sluice.dev/v1
kind: NatsSource
metadata: { name: n }
spec:
  servers: ["http://x"]
  subject: "a..b"
  sink: {}
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: s }
spec:
  subject: { apiVersion: apps/v1, kind: Deployment }
  sink: { uri: "http://x.test" }
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: c }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: p }
spec: { schedule: "* * * * *", sink: { uri: "http://x.test" } }
---
apiVersion: sources.sluice.dev/v1
kind: NatsSource
metadata: { name: n2 }
spec: { subject: a, sink: { uri: "http://x.test" }, extra: 1 }
`;
  const loaded = loadEventingManifests(text, "bad.yaml");
  const problems = [...loaded.problems, ...validateSources(loaded)].sort(byPosition).map(formatProblem);
  t.same(problems, [
    'bad.yaml:5:22: spec.bootstrapServers[0]: "kafka" is not host:port',
    "bad.yaml:6:11: spec.topics: needs at least one topic",
    "bad.yaml:7:8: spec.net: SASL and TLS to Kafka are not supported by sluice yet",
    "bad.yaml:9:10: spec.sink.ref: sluice resolves a sink ref to a serving.knative.dev/v1 Service or an eventing.knative.dev/v1 Broker; use a uri for anything else",
    'bad.yaml:15:13: spec.schedule: "@every 1m": @every is not supported; write it as a cron (e.g. "*/5 * * * *" for every 5 minutes)',
    'bad.yaml:16:13: spec.timezone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Paris)',
    "bad.yaml:18:15: spec.dataBase64: data and dataBase64 are mutually exclusive",
    "bad.yaml:19:16: spec.sink.uri: must be an absolute http:// or https:// URL",
    'bad.yaml:26:22: spec.eventTypes[1]: "shove" is not a GitHub webhook event name',
    "bad.yaml:27:16: spec.secretToken: needs secretKeyRef: sluice verifies every delivery's X-Hub-Signature-256 with it",
    'bad.yaml:28:38: spec.sink.ref.name: no Broker "missing" in namespace "default"',
    'bad.yaml:34:13: spec.servers[0]: "http://x" is not nats://host:port',
    'bad.yaml:35:12: spec.subject: "a..b" is not a NATS subject',
    "bad.yaml:36:9: spec.sink: needs a ref (a Service or a Broker) or a uri",
    "bad.yaml:42:12: spec.subject: sluice injects K_SINK into serving.knative.dev/v1 Services only (found apps/v1 Deployment)",
    "bad.yaml:42:12: spec.subject: needs exactly one of name and selector",
    'bad.yaml:46:7: kind: "ContainerSource" is not a kind sluice serves in sources.knative.dev/v1 (KafkaSource, PingSource, SinkBinding)',
    "bad.yaml:51:19: metadata.name: PingSource default/p is also defined at bad.yaml:11",
    "bad.yaml:57:53: spec.extra: unknown field",
  ]);
});

t.test("secrets: an environment variable, else {dir}/{name}/{key}", async (t) => {
  const ref = { name: "github-secret", key: "secretToken" };
  t.equal(secretEnvName(ref), "SLUICE_SECRET_GITHUB_SECRET_SECRETTOKEN");
  t.same(readSecret(ref, { SLUICE_SECRET_GITHUB_SECRET_SECRETTOKEN: "from-env" }, undefined), {
    value: "from-env",
  });
  const dir = tempDir(t, "sluice-secrets-");
  mkdirSync(join(dir, "github-secret"));
  writeFileSync(join(dir, "github-secret", "secretToken"), "from-file\n");
  t.same(readSecret(ref, {}, dir), { value: "from-file" });
  t.match(readSecret({ name: "none", key: "k" }, {}, dir), {
    problem: /secret "none" key "k" not found \(looked in \$SLUICE_SECRET_NONE_K and .*none\/k\)/,
  });
});
