// values.schema.json: helm refuses a bad value before rendering anything, naming the value's path
// and the rule it breaks; good values (every value.yaml default, the documented variations) pass.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { CHART, helm, helmSkip } from "./chart.ts";

const skip = helmSkip();

/** helm template's exit status and error output for these --set pairs (--set-json when json). */
function template(set: string[], json = false) {
  const args = ["template", "rel", CHART];
  for (const pair of set) args.push(json ? "--set-json" : "--set", pair);
  return helm(args);
}

t.test("bad values are refused, each with its path and the rule", { skip }, async (t) => {
  const cases: [string, RegExp][] = [
    ["router.replicas=-1", /at '\/router\/replicas': minimum: got -1, want 0/],
    [
      "servingGroup=foo",
      /at '\/servingGroup': value must be one of 'serving.sluice.dev', 'serving.knative.dev'/,
    ],
    ["router.service.type=NodePort", /at '\/router\/service\/type': value must be one of/],
    ["router.ports.admin=70000", /at '\/router\/ports\/admin': maximum: got 70,000, want 65,535/],
    ["activator.queueDepth=-5", /at '\/activator\/queueDepth': minimum/],
    ["autoscaler.replicas=6", /at '\/autoscaler\/replicas': maximum: got 6, want 5/],
    ["auth.hopSecret=short", /at '\/auth\/hopSecret': '.*' does not match pattern/],
    ["otel.samplerArg=2", /at '\/otel\/samplerArg'/],
    ["otel.protocol=grpc", /at '\/otel\/protocol': value must be one of 'http\/protobuf', 'http\/json'/],
    ["otel.endpoint=collector:4317", /at '\/otel\/endpoint': '.*' does not match pattern/],
    ["image.pullPolicy=Sometimes", /at '\/image\/pullPolicy': value must be one of/],
    ["logLevel=loud", /at '\/logLevel': value must be one of/],
    [
      "router.autoscaling.targetCPUUtilizationPercentage=0",
      /targetCPUUtilizationPercentage': minimum: got 0, want 1/,
    ],
    ["router.pdb.minAvailable=half", /at '\/router\/pdb\/minAvailable'/],
    ["router.replicass=3", /at '\/router': additional properties 'replicass' not allowed/],
    ["podMonitor.interval=soon", /at '\/podMonitor\/interval': '.*' does not match pattern/],
    ["prometheusAnnotations.enabled=maybe", /at '\/prometheusAnnotations\/enabled'/],
    [
      "autoscaler.allowedHosts[0]=http://x:1",
      /at '\/autoscaler\/allowedHosts\/0': '.*' does not match pattern/,
    ],
    ["domain=Example..com", /at '\/domain': '.*' does not match pattern/],
  ];
  for (const [set, message] of cases) {
    const result = template([set]);
    t.not(result.status, 0, `${set}: refused`);
    t.match(result.stderr, /values don't meet the specifications of the schema/, `${set}: by the schema`);
    t.match(result.stderr, message, `${set}: says where and why`);
  }
  const json = template(["autoscaler.maxScaleDownRate=1"], true);
  t.match(json.stderr, /at '\/autoscaler\/maxScaleDownRate': minimum: got 1, want 1.01/);
});

t.test("good values pass: defaults, variations, numbers given as --set strings", { skip }, async (t) => {
  for (const set of [
    [],
    ["servingGroup=serving.knative.dev"],
    ["router.service.type=ClusterIP", "router.autoscaling.enabled=true"],
    ["router.pdb.minAvailable=50%"],
    ["otel.sampler=traceidratio", "otel.samplerArg=0.1"],
    ["auth.token=0123456789abcdef", "auth.hopSecret=0123456789abcdef"],
    [`image.digest=sha256:${"a".repeat(64)}`],
    ["autoscaler.replicas=0"],
  ]) {
    const result = template(set);
    t.equal(result.status, 0, `${set.join(" ") || "defaults"}: ${result.stderr}`);
  }
});

t.test("every key of values.yaml is in the schema, with a description", async (t) => {
  const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
  const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8"));
  const resolve = (node: Record<string, unknown>) =>
    typeof node.$ref === "string" ? schema.definitions[node.$ref.split("/").pop() as string] : node;
  const walk = (value: unknown, node: Record<string, unknown>, path: string) => {
    const props = resolve(node)?.properties as Record<string, Record<string, unknown>> | undefined;
    if (value === null || typeof value !== "object" || Array.isArray(value) || !props) return;
    for (const [key, child] of Object.entries(value)) {
      const sub = props[key];
      t.ok(sub, `${path}${key} is in the schema`);
      if (!sub) continue;
      const described = resolve(sub);
      if (described.type !== "object" || described.additionalProperties !== false)
        t.ok(sub.description ?? described.description, `${path}${key} has a description`);
      walk(child, sub, `${path}${key}.`);
    }
  };
  walk(values, schema, "");
});

t.test("every key of values.yaml is documented: a comment above it or above its block", async (t) => {
  const lines = readFileSync(join(CHART, "values.yaml"), "utf8").split("\n");
  /** Indent → whether the block opened at that indent is documented. */
  const documented: { indent: number; ok: boolean }[] = [];
  lines.forEach((line, index) => {
    const key = /^(\s*)([A-Za-z][\w-]*):/.exec(line);
    if (!key) return;
    const indent = key[1].length;
    while (documented.length > 0 && documented[documented.length - 1].indent >= indent) documented.pop();
    const commented = index > 0 && /^\s*#/.test(lines[index - 1]);
    const inherited = documented.length > 0 && documented[documented.length - 1].ok;
    t.ok(commented || inherited, `values.yaml line ${index + 1} (${key[2]}) is documented`);
    documented.push({ indent, ok: commented || inherited });
  });
});
