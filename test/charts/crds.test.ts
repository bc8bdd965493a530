// The CRDs in charts/sluice/crds: names and printer columns as DESIGN.md fixes them, Knative's
// Service spec (template metadata, the revision spec's fields, traffic), the CEL rules and the
// Knative-shaped status; and every example Service of the repository fits the schema's shape.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { parse, parseAllDocuments } from "yaml";
import { ROOT } from "../helpers/processes.ts";
import { CHART, type Manifest } from "./chart.ts";

const crd = (file: string): Manifest => parse(readFileSync(join(CHART, "crds", file), "utf8"));
const services = crd("services.yaml");
const revisions = crd("revisions.yaml");
const schemaOf = (doc: Manifest) => doc.spec.versions[0].schema.openAPIV3Schema;
const rules = (node: Manifest) => (node["x-kubernetes-validations"] ?? []).map((v: Manifest) => v.rule);

t.test("names, scope, version, status subresource", async (t) => {
  t.same(readdirSync(join(CHART, "crds")).sort(), ["revisions.yaml", "services.yaml"]);
  for (const [doc, plural, kind, short] of [
    [services, "services", "Service", "ssvc"],
    [revisions, "revisions", "Revision", "srev"],
  ] as const) {
    t.equal(doc.metadata.name, `${plural}.serving.sluice.dev`);
    t.equal(doc.spec.group, "serving.sluice.dev");
    t.equal(doc.spec.scope, "Namespaced");
    t.match(doc.spec.names, { kind, plural, singular: plural.slice(0, -1), shortNames: [short] });
    t.equal(doc.spec.versions.length, 1);
    t.match(doc.spec.versions[0], { name: "v1", served: true, storage: true, subresources: { status: {} } });
  }
});

t.test("kubectl get ssvc: URL, latest created and ready revisions, READY, REASON", async (t) => {
  const columns = services.spec.versions[0].additionalPrinterColumns;
  t.same(
    columns.map((c: Manifest) => [c.name.toUpperCase(), c.jsonPath]),
    [
      ["URL", ".status.url"],
      ["LATESTCREATED", ".status.latestCreatedRevisionName"],
      ["LATESTREADY", ".status.latestReadyRevisionName"],
      ["READY", ".status.conditions[?(@.type=='Ready')].status"],
      ["REASON", ".status.conditions[?(@.type=='Ready')].reason"],
    ],
  );
  const revisionColumns = revisions.spec.versions[0].additionalPrinterColumns.map((c: Manifest) => c.name);
  t.same(revisionColumns, ["Service", "Ready", "Reason", "Actual", "Desired", "Age"]);
});

t.test("the Service's spec is Knative's: template metadata and revision spec, traffic", async (t) => {
  const spec = schemaOf(services).properties.spec.properties;
  const template = spec.template.properties;
  t.match(template.metadata, {
    "x-kubernetes-preserve-unknown-fields": true,
    properties: { name: { type: "string" }, annotations: { additionalProperties: { type: "string" } } },
  });
  const revisionSpec = template.spec;
  t.same(revisionSpec.required, ["containers"]);
  for (const field of [
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
  ])
    t.equal(revisionSpec.properties[field].type, "integer", `${field} is an integer`);
  t.match(revisionSpec.properties.containerConcurrency, { minimum: 0, maximum: 1000 });
  const containers = revisionSpec.properties.containers;
  t.equal(containers.minItems, 1);
  for (const field of [
    "image",
    "command",
    "args",
    "env",
    "ports",
    "resources",
    "readinessProbe",
    "volumeMounts",
  ])
    t.ok(containers.items.properties[field], `containers[].${field}`);
  // What Knative passes into the PodSpec unchanged keeps Kubernetes' own shape, checked there.
  for (const field of ["resources", "readinessProbe", "livenessProbe", "securityContext"])
    t.equal(
      containers.items.properties[field]["x-kubernetes-preserve-unknown-fields"],
      true,
      `containers[].${field}`,
    );
  for (const field of [
    "volumes",
    "tolerations",
    "affinity",
    "securityContext",
    "nodeSelector",
    "imagePullSecrets",
    "serviceAccountName",
  ])
    t.ok(revisionSpec.properties[field], `PodSpec field ${field}`);
  // The Revision's spec is the same revision spec, plus immutability.
  const { "x-kubernetes-validations": immutable, ...revisionOwn } = schemaOf(revisions).properties.spec;
  t.same(revisionOwn, revisionSpec, "Revision.spec = Service.spec.template.spec");
  t.same(
    immutable.map((v: Manifest) => v.rule),
    ["self == oldSelf"],
  );
  t.match(immutable[0].message, /immutable/);
});

t.test(
  "traffic: CEL rules for percents summing to 100, revisionName xor latestRevision, unique tags",
  async (t) => {
    const traffic = schemaOf(services).properties.spec.properties.traffic;
    t.ok(traffic.maxItems <= 100, "bounded, so the rules' cost is bounded");
    t.match(traffic.items.properties.percent, { type: "integer", minimum: 0, maximum: 100 });
    t.same(rules(traffic), [
      "self.size() == 0 || self.map(t, has(t.percent) ? t.percent : 0).sum() == 100",
      "self.all(a, !has(a.tag) || self.exists_one(b, has(b.tag) && b.tag == a.tag))",
    ]);
    const itemRules = rules(traffic.items);
    t.equal(itemRules.length, 4);
    t.match(itemRules[0], /revisionName/);
    t.match(itemRules[0], /latestRevision/);
    for (const validation of [
      ...traffic["x-kubernetes-validations"],
      ...traffic.items["x-kubernetes-validations"],
    ])
      t.ok(validation.message, `rule ${validation.rule} has a message`);
  },
);

t.test("status is Knative-shaped", async (t) => {
  const status = schemaOf(services).properties.status.properties;
  for (const field of [
    "conditions",
    "url",
    "latestCreatedRevisionName",
    "latestReadyRevisionName",
    "traffic",
    "observedGeneration",
  ])
    t.ok(status[field], `status.${field}`);
  const condition = status.conditions.items;
  t.same(condition.required, ["type", "status"]);
  t.same(Object.keys(condition.properties).sort(), [
    "lastTransitionTime",
    "message",
    "reason",
    "severity",
    "status",
    "type",
  ]);
  t.same(condition.properties.status.enum, ["True", "False", "Unknown"]);
  t.ok(status.traffic.items.properties.url, "status traffic carries tag URLs");
  const revisionStatus = schemaOf(revisions).properties.status.properties;
  for (const field of ["conditions", "observedGeneration", "actualReplicas", "desiredReplicas"])
    t.ok(revisionStatus[field], `Revision status.${field}`);
});

/** The fields of `value` the schema `node` does not know (a pruning API server would drop them). */
function unknownFields(value: unknown, node: Manifest, path: string): string[] {
  if (node["x-kubernetes-preserve-unknown-fields"] || value === null || typeof value !== "object") return [];
  if (Array.isArray(value))
    return value.flatMap((item, i) => unknownFields(item, node.items ?? {}, `${path}[${i}]`));
  const out: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const sub =
      node.properties?.[key] ??
      (typeof node.additionalProperties === "object" ? node.additionalProperties : undefined);
    if (!sub) out.push(`${path}.${key}`);
    else out.push(...unknownFields(child, sub, `${path}.${key}`));
  }
  return out;
}

t.test("every example Service in the repository fits the schema (no field pruned)", async (t) => {
  const schema = schemaOf(services);
  const files = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml"));
  t.ok(files.length > 0);
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(ROOT, "examples", file), "utf8"))) {
      const service = doc.toJS();
      if (service?.kind !== "Service") continue;
      t.same(unknownFields({ spec: service.spec }, schema, ""), [], `${file} ${service.metadata.name}`);
    }
  }
});
