// `sluice validate` on files that mix Services with Eventing resources: the Eventing ones are
// checked with eventing's loader, problems with file:line:column as the Services' are.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { serviceYaml } from "../helpers/service-yaml.ts";
import { sluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

function tempFile(t: { teardown(fn: () => unknown): void }, name: string, text: string): string {
  const dir = tempDir(t, "sluice-eventing-validate-");
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
`;

t.test("a Service, a Broker and a Trigger in one file are valid together", async (t) => {
  const file = tempFile(
    t,
    "all.yaml",
    `${serviceYaml("fulfil")}---
${BROKER}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: orders }
spec:
  broker: default
  filters: [{ prefix: { type: dev.shop. } }]
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: fulfil }
`,
  );
  const result = await sluice(["validate", "-f", file]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^fulfil: revision fulfil-NNNNN/m);
  t.match(result.stdout, /^Broker default\/default$/m);
  t.match(result.stdout, /^Trigger default\/orders on Broker default → Service fulfil$/m);
  t.match(result.stdout, /valid: 1 service and 2 eventing resources in 1 file/);
});

t.test("a bad Trigger is reported at its position; the Service lines stay where they are", async (t) => {
  const service = serviceYaml("fulfil");
  const serviceLines = service.split("\n").length - 1;
  const file = tempFile(
    t,
    "bad.yaml",
    `${service}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: orders }
spec:
  broker: default
  filters:
    - { prefix: { type: a }, suffix: { type: b } }
  subscriber: { uri: "not a url" }
  delivery: { retry: 2, backoffDelay: soon }
---
${BROKER}`,
  );
  const result = await sluice(["validate", "-f", file]);
  t.equal(result.code, 2, "exit 2: invalid");
  const filters = serviceLines + 8; // "    - { prefix…" (the document starts after ---)
  t.match(
    result.stderr,
    new RegExp(`${file}:${filters}:7: spec\\.filters\\[0\\]: a filter takes exactly one of`),
  );
  t.match(
    result.stderr,
    new RegExp(`${file}:${filters + 1}:\\d+: spec\\.subscriber`),
    "the subscriber's line",
  );
  t.match(
    result.stderr,
    new RegExp(`${file}:${filters + 2}:\\d+: spec\\.delivery\\.backoffDelay`),
    "the delay's line",
  );
  t.match(result.stderr, /invalid: 3 problems/);
  t.notMatch(result.stderr, /Service/, "the Service is not confused by the Eventing documents");
});

t.test("a Trigger whose Broker is elsewhere is a note offline", async (t) => {
  const file = tempFile(
    t,
    "trigger.yaml",
    `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: audit }
spec:
  broker: shared
  subscriber: { uri: http://audit.example.net/ }
`,
  );
  const result = await sluice(["validate", "-f", file]);
  t.equal(result.code, 0, result.stderr);
  t.match(
    result.stdout,
    new RegExp(`note: ${file}:1: Trigger audit: Broker default/shared is not in these files`),
  );
  t.match(result.stdout, /valid: 0 services and 1 eventing resource in 1 file/);
});
