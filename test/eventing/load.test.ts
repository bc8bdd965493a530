// Broker and Trigger manifests: Knative's YAML loads unchanged, every problem comes back with
// file:line:col, and the compiled set is what the dispatcher runs.
import t from "tap";
import { compileEventing, DEFAULT_DELIVERY } from "../../eventing/resources/compile.ts";
import { loadEventingManifests } from "../../eventing/resources/load.ts";
import { validateEventing } from "../../eventing/resources/validate.ts";
import { byPosition, formatProblem } from "../../serving/load.ts";

// As in Knative's docs, with a Service beside them in the same file.
const KNATIVE = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: shop
  annotations:
    eventing.knative.dev/broker.class: MTChannelBasedBroker
spec:
  delivery:
    retry: 3
    backoffPolicy: linear
    backoffDelay: PT1S
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders
  namespace: shop
spec:
  broker: default
  filter:
    attributes:
      type: dev.shop.order.created
      source: ""
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: fulfil
    uri: /events
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: audit
  namespace: shop
spec:
  broker: default
  filters:
    - any:
        - prefix: { type: dev.shop. }
        - not: { exact: { source: internal } }
  subscriber:
    uri: http://audit.example.net/in
  delivery:
    retry: 5
    backoffPolicy: exponential
    backoffDelay: PT0.5S
    timeout: PT10S
    deadLetterSink:
      ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dead-letters }
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: fulfil, namespace: shop }
spec:
  template:
    spec:
      containers: [{ image: example/fulfil }]
`;

t.test("Knative's Broker and Trigger YAML loads unchanged", async (t) => {
  const loaded = loadEventingManifests(KNATIVE, "shop.yaml");
  t.same(loaded.problems, []);
  t.equal(loaded.brokers.length, 1);
  t.equal(loaded.triggers.length, 2);
  t.match(loaded.others, [{ kind: "Service", line: 53 }], "the Service is left to serving");
  t.same(validateEventing(loaded), []);
  const set = compileEventing(
    loaded.brokers.map((b) => b.manifest),
    loaded.triggers.map((t) => t.manifest),
    { routerUrl: "http://127.0.0.1:8080", domain: "example.com" },
  );
  t.same([...set.brokers.keys()], ["shop/default"]);
  const [orders, audit] = set.triggers;
  t.same(
    orders.subscriber,
    {
      url: "http://127.0.0.1:8080/events",
      host: "fulfil.shop.example.com",
      describe: "Service shop/fulfil",
    },
    "a ref goes through the router with the Service's host",
  );
  t.match(
    orders.delivery,
    { retry: 3, backoffPolicy: "linear", backoffDelayMs: 1000 },
    "the Broker's delivery spec",
  );
  t.ok(orders.matches({ type: "dev.shop.order.created", source: "/web" }));
  t.notOk(orders.matches({ type: "dev.shop.order.paid", source: "/web" }));
  t.match(audit.delivery, {
    retry: 5,
    backoffPolicy: "exponential",
    backoffDelayMs: 500,
    timeoutMs: 10_000,
    deadLetterSink: { host: "dead-letters.shop.example.com" },
  });
  t.same(audit.subscriber, { url: "http://audit.example.net/in", describe: "http://audit.example.net/in" });
});

t.test("without delivery specs: Knative's broker defaults", async (t) => {
  const loaded = loadEventingManifests(
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: b }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec: { broker: b, subscriber: { uri: "http://x.test/" } }
`,
    "defaults.yaml",
  );
  const set = compileEventing(
    loaded.brokers.map((b) => b.manifest),
    loaded.triggers.map((t) => t.manifest),
    {
      routerUrl: "http://r",
      domain: "d",
    },
  );
  t.match(set.triggers[0], {
    namespace: "default",
    delivery: { retry: DEFAULT_DELIVERY.retry, backoffDelayMs: 200 },
  });
});

t.test(
  "a ref in the chart's own serving group (serving.sluice.dev/v1) is a sluice Service too",
  async (t) => {
    const loaded = loadEventingManifests(
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: b }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: b
  subscriber: { ref: { apiVersion: serving.sluice.dev/v1, kind: Service, name: fulfil } }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: u }
spec:
  broker: b
  subscriber: { ref: { apiVersion: serving.example.dev/v1, kind: Service, name: fulfil } }
`,
      "groups.yaml",
    );
    t.same(
      validateEventing(loaded).sort(byPosition).map(formatProblem),
      [
        "groups.yaml:17:22: spec.subscriber.ref: sluice resolves refs to a serving.knative.dev/v1 (or serving.sluice.dev/v1) Service only; use a uri for anything else",
      ],
      "only the unknown group is refused",
    );
  },
);

t.test("every problem, with file:line:col", async (t) => {
  const text = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: bad
spec:
  broker: missing
  filter:
    attributes:
      Type: x
  filters:
    - exact: { type: a, source: b }
    - prefix: { type: "" }
    - {}
    - cesql: "type = 'a'"
    - any: []
    - exact: { type: a }
      suffix: { type: b }
  subscriber:
    ref: { apiVersion: v1, kind: Pod, name: p }
  delivery:
    backoffDelay: 1s
    timeout: PT0S
    deadLetterSink: { uri: "ftp://x" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: no-subscriber }
spec:
  broker: default
  subscriber: {}
---
apiVersion: eventing.knative.dev/v1
kind: Channel
metadata: { name: c }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: other }
spec: { extra: true }
`;
  const loaded = loadEventingManifests(text, "bad.yaml");
  const problems = [...loaded.problems, ...validateEventing(loaded)].sort(byPosition).map(formatProblem);
  t.same(problems, [
    'bad.yaml:6:11: spec.broker: no Broker "missing" in namespace "default"',
    "bad.yaml:9:7: spec.filter.attributes.Type: not a CloudEvents attribute name (lower-case letters and digits)",
    "bad.yaml:11:14: spec.filters[0].exact: exact takes exactly one attribute (found 2)",
    "bad.yaml:12:23: spec.filters[1].prefix.type: prefix needs a non-empty value",
    "bad.yaml:13:7: spec.filters[2]: a filter takes exactly one of exact, prefix, suffix, all, any, not, cesql (found none)",
    "bad.yaml:14:14: spec.filters[3].cesql: CESQL filters are not supported by sluice yet; use exact, prefix, suffix, all, any, not",
    "bad.yaml:15:12: spec.filters[4].any: any needs at least one filter",
    "bad.yaml:16:7: spec.filters[5]: a filter takes exactly one of exact, prefix, suffix, all, any, not, cesql (found exact, suffix)",
    "bad.yaml:19:10: spec.subscriber.ref: sluice resolves refs to a serving.knative.dev/v1 (or serving.sluice.dev/v1) Service only; use a uri for anything else",
    'bad.yaml:21:19: spec.delivery.backoffDelay: "1s" is not an ISO-8601 duration (e.g. PT0.2S, PT1M)',
    "bad.yaml:22:14: spec.delivery.timeout: must be longer than zero",
    "bad.yaml:23:28: spec.delivery.deadLetterSink.uri: must be an absolute http:// or https:// URL",
    "bad.yaml:30:15: spec.subscriber: needs a ref (a Service) or a uri",
    'bad.yaml:33:7: kind: "Channel" is not a kind sluice serves in eventing.knative.dev/v1 (Broker, Trigger)',
    "bad.yaml:42:19: metadata.name: Broker default/default is also defined at bad.yaml:36",
    "bad.yaml:47:9: spec.extra: unknown field",
  ]);
});

t.test(
  "YAML an API server would refuse is a located problem, and the other documents still load",
  async (t) => {
    const text = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: &m { name: loop, labels: *m }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: fine }
---
a: [unclosed
`;
    const loaded = loadEventingManifests(text, "e.yaml");
    t.same(
      loaded.brokers.map((broker) => broker.manifest.metadata.name),
      ["fine"],
    );
    const problems = loaded.problems.map(formatProblem);
    t.equal(
      problems[0],
      "e.yaml:3:36: YAML: alias *m is inside the node it names: a value cannot contain itself",
    );
    t.match(problems.slice(1).join("\n"), /^e\.yaml:10:1: YAML: Flow sequence/);
  },
);
