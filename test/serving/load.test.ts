import t from "tap";
import { withoutNulls } from "../../serving/absent.ts";
import { draftOf } from "../../serving/draft.ts";
import { formatPath, formatProblem, loadManifests } from "../../serving/load.ts";

const NULLS = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: ~
  annotations: null
  labels:
spec:
  template:
    metadata:
    spec:
      containerConcurrency: null
      containers:
        - command: ["node", "app.ts"]
          env: ~
          ports:
          args: null
  traffic: null
`;

t.test("null fields are absent, as Kubernetes reads them", async (t) => {
  const { services, problems } = loadManifests(NULLS, "nulls.yaml");
  t.same(problems, []);
  t.same(services[0].manifest, {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "hello" },
    spec: { template: { spec: { containers: [{ command: ["node", "app.ts"] }] } } },
  });
});

t.test("null in JSON is absent too, and never becomes the string null", async (t) => {
  const json = JSON.stringify({
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "hello", annotations: null },
    spec: {
      template: {
        metadata: { annotations: null, name: null },
        spec: { containers: [{ command: ["node"], env: [{ name: "A", value: null }] }] },
      },
      traffic: null,
    },
  });
  const { services, problems } = loadManifests(json, "nulls.json");
  t.same(problems, []);
  t.same(services[0].manifest.spec.template, {
    metadata: {},
    spec: { containers: [{ command: ["node"], env: [{ name: "A" }] }] },
  });
  t.notOk(JSON.stringify(services[0].manifest).includes("null"));
});

t.test("a required field that is null is missing, at its own line", async (t) => {
  const { problems } = loadManifests(NULLS.replace("  name: hello\n", "  name:\n"), "n.yaml");
  t.same(problems.map(formatProblem), ["n.yaml:4:3: metadata.name: required field is missing"]);
  const spec = loadManifests(
    "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: { name: a }\nspec:\n",
    "s.yaml",
  );
  t.same(spec.problems.map(formatProblem), ["s.yaml:4:1: spec: required field is missing"]);
  t.same(spec.documents.length, 1, "still a document for the later checks");
});

t.test("a null list item stays, for the schema to report", async (t) => {
  const { problems } = loadManifests(
    NULLS.replace("      containers:\n", "      containers:\n        -\n"),
    "l.yaml",
  );
  t.same(problems.map(formatProblem), [
    "l.yaml:14:10: spec.template.spec.containers[0]: Invalid input: expected object, received null",
  ]);
});

t.test("withoutNulls copies, drops null fields at every depth and keeps __proto__ as data", async (t) => {
  const input = JSON.parse('{"a":null,"b":{"c":null,"d":[null,{"e":null}]},"__proto__":{"x":1}}');
  const out = withoutNulls(input) as Record<string, unknown>;
  t.same(Object.keys(out), ["b", "__proto__"]);
  t.same(out.b, { d: [null, {}] });
  t.equal(Object.getPrototypeOf(out), Object.prototype);
  t.equal((out as { x?: number }).x, undefined);
  t.not(out.b, input.b, "a copy");
  const date = new Date(0);
  t.equal(withoutNulls(date), date, "non-plain objects are kept as they are");
});

t.test("draftOf cuts what the schema rejected, keeping list indexes", async (t) => {
  const value = {
    metadata: { name: "a", namespace: 5 },
    spec: { traffic: [{ percent: "x" }, 7, { tag: "t" }] },
  };
  t.same(
    draftOf(value, [
      ["metadata", "namespace"],
      ["spec", "traffic", 0, "percent"],
      ["spec", "traffic", 1],
    ]),
    { metadata: { name: "a" }, spec: { traffic: [{}, undefined, { tag: "t" }] } },
  );
  t.same(value.metadata.namespace, 5, "the input is not changed");
  t.same(draftOf(value, [[]]), {}, "the whole document rejected");
  t.same(draftOf("text", []), {});
});

t.test("paths name map keys that are not plain words in brackets", async (t) => {
  t.equal(formatPath(["spec", "traffic", 0, "tag"]), "spec.traffic[0].tag");
  t.equal(
    formatPath(["spec", "template", "metadata", "annotations"], "autoscaling.knative.dev/window"),
    'spec.template.metadata.annotations["autoscaling.knative.dev/window"]',
  );
  t.equal(
    formatPath(["metadata", "labels", "app.kubernetes.io/name"]),
    'metadata.labels["app.kubernetes.io/name"]',
  );
});

t.test("YAML merge keys work as in Kubernetes", async (t) => {
  const text = `base: &base
  command: ["node", "app.ts"]
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: merged }
spec:
  template:
    spec:
      containers:
        - <<: { command: ["node", "app.ts"] }
          workingDir: /srv
`;
  const { services, problems } = loadManifests(text.split("---\n")[1], "m.yaml");
  t.same(problems, []);
  t.same(services[0].manifest.spec.template.spec.containers[0], {
    command: ["node", "app.ts"],
    workingDir: "/srv",
  });
});

t.test("alias bombs and odd YAML are problems, not exceptions", async (t) => {
  const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`;
  const { problems } = loadManifests(bomb, "bomb.yaml");
  t.match(problems.map(formatProblem).join("\n"), /bomb\.yaml:1:1: YAML: /);
  const binary = loadManifests("apiVersion: !!binary aGVsbG8=\nkind: Service\n", "b.yaml");
  t.match(binary.problems.map(formatProblem).join("\n"), /b\.yaml:1:\d+: apiVersion: must be/);
});

t.test(
  "an alias inside the node it names is a located problem, not a value that contains itself",
  async (t) => {
    // Found by load-property.test.ts: the walk that drops null fields followed such a value for ever.
    const self = "&a1\nnamespace: *a1\nmetadata: Hello_World\nkind: Hello_World\napiVersion: hello\n";
    t.same(loadManifests(self, "s.yaml").problems.map(formatProblem), [
      "s.yaml:2:12: YAML: alias *a1 is inside the node it names: a value cannot contain itself",
    ]);
    const merge = NULLS.replace("    metadata:\n", "    metadata: &m\n      <<: *m\n");
    t.match(loadManifests(merge, "m.yaml").problems.map(formatProblem), [
      /^m\.yaml:\d+:11: YAML: alias \*m is inside/,
    ]);
    // An alias to a node it is not part of is YAML's ordinary sharing and loads.
    const shared = NULLS.replace("  annotations: null\n", "  annotations: &notes {team: a}\n").replace(
      "    metadata:\n",
      "    metadata:\n      annotations: *notes\n",
    );
    const loaded = loadManifests(shared, "ok.yaml");
    t.same(loaded.problems, []);
    t.same(loaded.services[0]?.manifest.spec.template.metadata?.annotations, { team: "a" });
  },
);

t.test("an unquoted number where a string belongs says to quote it", async (t) => {
  const text = NULLS.replace(
    "    metadata:\n",
    "    metadata:\n      annotations:\n        autoscaling.knative.dev/min-scale: 2\n",
  );
  t.same(loadManifests(text, "q.yaml").problems.map(formatProblem), [
    'q.yaml:12:44: spec.template.metadata.annotations["autoscaling.knative.dev/min-scale"]: expected a string, got number 2: quote it ("2")',
  ]);
});
