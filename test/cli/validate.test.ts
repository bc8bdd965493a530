import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { sluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const VALID = (name: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - command: ["node", "app.ts"]
`;

// Line 4: a bad name; line 8: a negative concurrency; line 11: an unknown field.
const INVALID = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: Bad_Name
spec:
  template:
    spec:
      containerConcurrency: -1
      containers:
        - command: ["node", "app.ts"]
          colour: red
`;

t.test("the examples are valid: exit 0 and one summary line per service", async (t) => {
  const result = await sluice(["validate", "-f", "examples"]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, "");
  t.same(result.stdout.trimEnd().split("\n"), [
    "hello: revisions hello-00001, hello-00002 (named); traffic hello-00001 80%, hello-00002 20% (canary)",
    "one-at-a-time: revision one-at-a-time-NNNNN (numbered, a new one on each template change); traffic latest 100%",
    "scheduled: revision scheduled-NNNNN (numbered, a new one on each template change); traffic latest 100%",
    "valid: 3 services in 3 files",
  ]);
});

t.test("an invalid file: every problem with its line and column, exit 2", async (t) => {
  const file = join(tempDir(t, "sluice-validate-"), "bad.yaml");
  writeFileSync(file, INVALID);
  const result = await sluice(["validate", "-f", file]);
  t.equal(result.code, 2);
  t.same(result.stderr.trimEnd().split("\n"), [
    `${file}:4:9: metadata.name: must be a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63 characters`,
    `${file}:8:29: spec.template.spec.containerConcurrency: Too small: expected number to be >=0`,
    `${file}:11:11: spec.template.spec.containers[0].colour: unknown field`,
    `invalid: 3 problems in ${file}`,
  ]);
  t.equal(result.stdout, "");
});

t.test("every stage's problems in one pass: schema, annotations, traffic", async (t) => {
  const file = join(tempDir(t, "sluice-validate-"), "stages.yaml");
  writeFileSync(
    file,
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: lots
    spec:
      containerConcurrency: -1
      containers:
        - command: ["node", "app.ts"]
  traffic:
    - latestRevision: true
      percent: 70
`,
  );
  const result = await sluice(["validate", "-f", file]);
  t.equal(result.code, 2);
  t.same(result.stderr.trimEnd().split("\n"), [
    `${file}:9:44: spec.template.metadata.annotations["autoscaling.knative.dev/max-scale"]: "lots": expected a number`,
    `${file}:11:29: spec.template.spec.containerConcurrency: Too small: expected number to be >=0`,
    `${file}:15:5: spec.traffic: percents sum to 70, not 100`,
    `invalid: 3 problems in ${file}`,
  ]);
});

t.test("null fields are absent; host collisions name both services", async (t) => {
  const dir = tempDir(t, "sluice-validate-");
  // metadata: and annotations: with nothing, env: ~ — all absent, as Kubernetes reads them.
  writeFileSync(
    join(dir, "a.yaml"),
    `${VALID("a").replace("  name: a\n", "  name: a\n  annotations:\n").replace("    spec:\n", "    metadata:\n    spec:\n")}  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: b\n`,
  );
  writeFileSync(
    join(dir, "b.yaml"),
    VALID("other").replace('["node", "app.ts"]', '["node", "app.ts"]\n          env: ~'),
  );
  const fine = await sluice(["validate", "-f", dir]);
  t.equal(fine.code, 0, fine.stderr);

  // Tag b of a answers on b-a.default: a service b-a may not have it too.
  writeFileSync(join(dir, "c.yaml"), VALID("b-a"));
  const clash = await sluice(["validate", "-f", dir]);
  t.equal(clash.code, 2);
  t.same(clash.stderr.trimEnd().split("\n"), [
    `${join(dir, "c.yaml")}:4:9: metadata.name: service default/b-a would answer on host b-a.default, already the host of tag b of service default/a (${join(dir, "a.yaml")}:1)`,
    `invalid: 1 problem in ${dir}`,
  ]);

  // The same name in two namespaces is fine: the bare host is the default namespace's.
  writeFileSync(join(dir, "c.yaml"), VALID("a").replace("  name: a\n", "  name: a\n  namespace: staging\n"));
  const namespaces = await sluice(["validate", "-f", dir]);
  t.equal(namespaces.code, 0, namespaces.stderr);
  t.match(namespaces.stdout, /^staging\/a: /m);
});

t.test("semantic problems point at their line too", async (t) => {
  const file = join(tempDir(t, "sluice-validate-"), "traffic.yaml");
  writeFileSync(
    file,
    `${VALID("svc")}  traffic:\n    - latestRevision: true\n      percent: 60\n    - latestRevision: true\n      percent: 30\n      tag: b\n`,
  );
  const result = await sluice(["validate", file]);
  t.equal(result.code, 2);
  t.match(result.stderr, `${file}:11:5: spec.traffic: percents sum to 90, not 100`);
});

t.test("a missing file is a problem, exit 2", async (t) => {
  const result = await sluice(["validate", "-f", "examples/hello.yaml", "-f", "no/such/file.yaml"]);
  t.equal(result.code, 2);
  t.match(result.stderr, /^no\/such\/file\.yaml: cannot read: ENOENT/m);
  t.match(result.stderr, /invalid: 1 problem in examples\/hello\.yaml, no\/such\/file\.yaml/);
});

t.test("a directory: its *.yaml, *.yml and *.json files, checked together", async (t) => {
  const dir = tempDir(t, "sluice-validate-");
  writeFileSync(join(dir, "a.yaml"), VALID("alpha"));
  writeFileSync(join(dir, "b.yml"), VALID("beta"));
  writeFileSync(
    join(dir, "c.json"),
    JSON.stringify({
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "gamma" },
      spec: { template: { spec: { containers: [{ command: ["node", "app.ts"] }] } } },
    }),
  );
  writeFileSync(join(dir, "notes.txt"), "not a manifest");
  mkdirSync(join(dir, "sub.yaml")); // a directory with a manifest-like name is not a file
  const valid = await sluice(["validate", "-f", dir]);
  t.equal(valid.code, 0, valid.stderr);
  t.match(valid.stdout, /^alpha: .*\nbeta: .*\ngamma: .*\nvalid: 3 services in 3 files\n$/);

  // The same service in two files (neither naming its revision) is one input defined twice.
  writeFileSync(join(dir, "d.yaml"), VALID("alpha"));
  const twice = await sluice(["validate", "-f", dir]);
  t.equal(twice.code, 2);
  t.match(
    twice.stderr,
    `${join(dir, "d.yaml")}:4:9: metadata.name: service default/alpha is defined twice (first at ${join(dir, "a.yaml")}:1)`,
  );

  const empty = await sluice(["validate", "-f", tempDir(t, "sluice-validate-")]);
  t.equal(empty.code, 2);
  t.match(empty.stderr, /no \*\.yaml, \*\.yml or \*\.json files in this directory/);
});

t.test("references outside the files and image-only containers are notes, not problems", async (t) => {
  const file = join(tempDir(t, "sluice-validate-"), "notes.yaml");
  writeFileSync(
    file,
    `${VALID("svc")}  traffic:\n    - revisionName: svc-00001\n      percent: 100\n---\n${VALID("img").replace('- command: ["node", "app.ts"]', "- image: ghcr.io/knative/helloworld-go")}`,
  );
  const result = await sluice(["validate", "-f", file]);
  t.equal(result.code, 0, result.stderr);
  t.match(
    result.stdout,
    `note: ${file}:1: svc: traffic refers to revision svc-00001, which these files do not declare`,
  );
  t.match(result.stdout, `note: ${file}:14: img: cannot run locally: containers[0] has no command`);
  t.match(result.stdout, /valid: 2 services in 1 file\n$/);
});

t.test("usage: --help, unknown flags, no files", async (t) => {
  const help = await sluice(["validate", "--help"]);
  t.equal(help.code, 0);
  t.match(help.stdout, /^usage: sluice validate -f FILE/);
  t.match(help.stdout, /exit codes: 0 valid/);

  const unknown = await sluice(["validate", "--frobnicate", "-f", "examples"]);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /sluice validate: Unknown option '--frobnicate'/);

  const none = await sluice(["validate"]);
  t.equal(none.code, 2);
  t.match(none.stderr, /no files: give -f FILE/);
});
