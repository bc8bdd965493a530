import t from "tap";
import { byPosition, formatProblem, loadManifests } from "../../serving/load.ts";
import { localRunnable, validateServices } from "../../serving/validate.ts";

const HELLOWORLD_GO = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: helloworld-go
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          ports:
            - containerPort: 8080
          env:
            - name: TARGET
              value: "Go Sample v1"
`;

/** A valid local service, with `body` appended at the end of spec.template.spec or replaced. */
function service(extra = "", annotations = "", traffic = ""): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/window: "60s"${annotations}
    spec:
      containers:
        - command: ["node", "server.ts"]${extra}
${traffic}`;
}

function problemsOf(text: string, known: string[] = []): string[] {
  const { documents, problems } = loadManifests(text, "svc.yaml");
  return [...problems, ...validateServices(documents, () => known)].sort(byPosition).map(formatProblem);
}

t.test("a real Knative manifest (helloworld-go) loads unchanged", async (t) => {
  const { services, problems } = loadManifests(HELLOWORLD_GO, "hello.yaml");
  t.same(problems, []);
  t.same(
    validateServices(services, () => []),
    [],
  );
  t.equal(services[0].manifest.spec.template.spec.containers[0].env?.[0].value, "Go Sample v1");
  t.match(
    localRunnable(services[0].manifest),
    /no command \(image ghcr.io\/knative\/helloworld-go:latest\): local mode runs processes/,
  );
});

t.test("a valid local service has no problems and can run locally", async (t) => {
  t.same(problemsOf(service()), []);
  const { services } = loadManifests(service(), "svc.yaml");
  t.equal(localRunnable(services[0].manifest), undefined);
});

const cases: [string, string, RegExp, string[]?][] = [
  ["malformed YAML", "apiVersion: [unclosed\n", /svc\.yaml:\d+:\d+: YAML: /],
  ["empty input", "", /no documents found|no Service documents found/],
  [
    "wrong apiVersion",
    service().replace("serving.knative.dev/v1", "v1"),
    /svc\.yaml:1:13: apiVersion: must be "serving.knative.dev\/v1"/,
  ],
  [
    "wrong kind",
    service().replace("kind: Service", "kind: Deployment"),
    /svc\.yaml:2:7: kind: "Deployment" \(serving\.knative\.dev\/v1\) is not a kind sluice takes: Service \(serving\.knative\.dev\/v1\); Broker/,
  ],
  [
    "missing name",
    service().replace("  name: hello\n", "  labels: {}\n"),
    /metadata\.name: required field is missing/,
  ],
  [
    "name not a DNS label",
    service().replace("name: hello", "name: Hello_World"),
    /svc\.yaml:4:9: metadata\.name: must be a DNS label/,
  ],
  ["unknown top-level field", `${service()}extra: 1\n`, /svc\.yaml:\d+:1: extra: unknown field/],
  [
    "unknown container field",
    service("\n          colour: blue"),
    /svc\.yaml:13:11: spec\.template\.spec\.containers\[0\]\.colour: unknown field/,
  ],
  [
    "wrong type",
    service('\n          ports:\n            - containerPort: "80"'),
    /spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: .*expected number/,
  ],
  [
    "port out of range",
    service("\n          ports:\n            - containerPort: 70000"),
    /containerPort: Too big/,
  ],
  [
    "no containers",
    service().replace(/ {6}containers:\n.*\n/, "      containers: []\n"),
    /spec\.template\.spec\.containers: at least one container/,
  ],
  [
    "containerConcurrency out of range",
    service().replace(
      "    spec:\n      containers",
      "    spec:\n      containerConcurrency: 5000\n      containers",
    ),
    /containerConcurrency: Too big/,
  ],
  [
    "timeoutSeconds out of range",
    service().replace("    spec:\n      containers", "    spec:\n      timeoutSeconds: 0\n      containers"),
    /timeoutSeconds: Too small/,
  ],
  [
    "unknown autoscaling annotation",
    service("", '\n        autoscaling.knative.dev/minscale: "1"'),
    /annotations\["autoscaling\.knative\.dev\/minscale"\]: unknown autoscaling annotation/,
  ],
  [
    "min-scale not a number",
    service("", '\n        autoscaling.knative.dev/min-scale: "two"'),
    /min-scale"\]: "two": expected a number/,
  ],
  [
    "min above max",
    service(
      "",
      '\n        autoscaling.knative.dev/min-scale: "5"\n        autoscaling.knative.dev/max-scale: "2"',
    ),
    /min-scale 5 is above max-scale 2/,
  ],
  [
    "window too short",
    service("", '\n        autoscaling.knative.dev/window: "1s"').replace(
      'autoscaling.knative.dev/window: "60s"\n',
      "",
    ),
    /window"\]: "1s": expected a duration from 6s to 3600s/,
  ],
  [
    "bad class",
    service("", '\n        autoscaling.knative.dev/class: "fast"'),
    /class"\]: "fast": expected kpa\.autoscaling\.knative\.dev or hpa/,
  ],
  [
    "cpu metric with kpa",
    service("", '\n        autoscaling.knative.dev/metric: "cpu"'),
    /metric"\]: "cpu": expected concurrency or rps with the kpa class/,
  ],
  [
    "panic threshold out of range",
    service("", '\n        autoscaling.knative.dev/panic-threshold-percentage: "50"'),
    /expected 110 to 1000/,
  ],
  [
    "bad schedule",
    service("", '\n        autoscaling.sluice.dev/schedule: "- cron: nope"'),
    /autoscaling\.sluice\.dev\/schedule"\]: \[0\]\.duration: expected a duration/,
  ],
  [
    "percents not 100",
    service("", "", "  traffic:\n    - latestRevision: true\n      percent: 80\n"),
    /spec\.traffic: percents sum to 80, not 100/,
  ],
  [
    "both revisionName and latest",
    service(
      "",
      "",
      "  traffic:\n    - latestRevision: true\n      revisionName: hello-00001\n      percent: 100\n",
    ),
    /spec\.traffic\[0\]: set either revisionName or latestRevision: true, not both/,
    ["hello-00001"],
  ],
  [
    "neither revisionName nor latest",
    service("", "", "  traffic:\n    - percent: 100\n"),
    /spec\.traffic\[0\]: set revisionName or latestRevision: true/,
  ],
  [
    "revision that does not exist",
    service("", "", "  traffic:\n    - revisionName: hello-00009\n      percent: 100\n"),
    /svc\.yaml:\d+:\d+: spec\.traffic\[0\]\.revisionName: revision hello-00009 does not exist \(existing: hello-00001\)/,
    ["hello-00001"],
  ],
  [
    "duplicate tags",
    service(
      "",
      "",
      "  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: a\n    - revisionName: hello-00001\n      percent: 0\n      tag: a\n",
    ),
    /spec\.traffic\[1\]\.tag: tag a is already used by spec\.traffic\[0\]/,
    ["hello-00001"],
  ],
  [
    "invalid tag",
    service("", "", "  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: Canary!\n"),
    /spec\.traffic\[0\]\.tag: must be a DNS label/,
  ],
  [
    "rollout-duration not a duration",
    service().replace(
      "  name: hello\n",
      '  name: hello\n  annotations:\n    serving.knative.dev/rollout-duration: "soon"\n',
    ),
    /rollout-duration"\]: "soon": expected a duration/,
  ],
  [
    "the same service twice",
    `${service()}---\n${service()}`,
    /service default\/hello is defined twice \(first at svc\.yaml:1\)/,
  ],
];

for (const [name, text, expected, known] of cases) {
  t.test(name, async (t) => {
    const problems = problemsOf(text, known);
    t.ok(problems.length > 0, "rejected");
    t.match(problems.join("\n"), expected);
  });
}

t.test("every problem of every stage is reported in one pass", async (t) => {
  // The schema (containerConcurrency), the annotations (max-scale) and the traffic (sum) at once.
  const text = service(
    "",
    '\n        autoscaling.knative.dev/max-scale: "lots"',
    "  traffic:\n    - latestRevision: true\n      percent: 70\n",
  ).replace("    spec:\n      containers", "    spec:\n      containerConcurrency: -1\n      containers");
  t.same(problemsOf(text), [
    'svc.yaml:10:44: spec.template.metadata.annotations["autoscaling.knative.dev/max-scale"]: "lots": expected a number',
    "svc.yaml:12:29: spec.template.spec.containerConcurrency: Too small: expected number to be >=0",
    "svc.yaml:16:5: spec.traffic: percents sum to 70, not 100",
  ]);

  const more = problemsOf(
    service(
      "\n          colour: blue",
      '\n        autoscaling.knative.dev/min-scale: "-1"',
      "  traffic:\n    - latestRevision: true\n      percent: 50\n",
    ),
  );
  t.equal(more.length, 3, "an unknown field does not hide the annotation and traffic problems");
  t.match(more.join("\n"), /colour: unknown field/);
  t.match(more.join("\n"), /min-scale.*expected an integer >= 0/);
  t.match(more.join("\n"), /sum to 50/);
});

t.test("a check whose input the schema rejected is skipped, not run on what is left", async (t) => {
  const badPercent = problemsOf(
    service(
      "",
      "",
      '  traffic:\n    - latestRevision: true\n      percent: "50%"\n    - revisionName: hello-00001\n      percent: 50\n',
    ),
    ["hello-00001"],
  );
  t.equal(badPercent.length, 1, badPercent.join("\n"));
  t.match(badPercent[0], /spec\.traffic\[0\]\.percent: Invalid input: expected number, received string/);

  const badRevision = problemsOf(
    service("", "", "  traffic:\n    - revisionName: Hello_1\n      percent: 100\n"),
  );
  t.equal(badRevision.length, 1, badRevision.join("\n"));
  t.match(badRevision[0], /spec\.traffic\[0\]\.revisionName: must be a DNS label/);

  const badEntry = problemsOf(service("", "", "  traffic:\n    - 100\n"));
  t.same(badEntry, ["svc.yaml:14:7: spec.traffic[0]: Invalid input: expected object, received number"]);

  const badName = problemsOf(
    `${service().replace("name: hello", "name: Hello")}---\n${service().replace("name: hello", "name: Hello")}`,
  );
  t.equal(badName.length, 2, "a rejected name is not compared: no 'defined twice' on top");

  const badCommand = loadManifests(
    service().replace('["node", "server.ts"]', '"node server.ts"'),
    "svc.yaml",
  );
  t.equal(badCommand.documents.length, 1);
  t.ok(badCommand.documents[0].rejected(["spec", "template", "spec", "containers", 0]));
  t.notOk(badCommand.documents[0].rejected(["spec", "traffic"]));
});

t.test("a document of another kind is reported as such, not field by field", async (t) => {
  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
`;
  t.same(problemsOf(deployment), [
    'svc.yaml:2:7: kind: "Deployment" (apps/v1) is not a kind sluice takes: Service (serving.knative.dev/v1); Broker, Trigger (eventing.knative.dev/v1); KafkaSource, PingSource, SinkBinding (sources.knative.dev/v1); GitHubSource (sources.knative.dev/v1alpha1); NatsSource (sources.sluice.dev/v1)',
  ]);
  t.same(
    problemsOf("apiVersion: serving.sluice.dev/v1\nkind: Service\nmetadata: { name: a }\n"),
    ['svc.yaml:1:13: apiVersion: must be "serving.knative.dev/v1"'],
    "a Service of another group: its apiVersion is what is wrong",
  );
  t.same(problemsOf("- a\n- b\n"), [
    "svc.yaml:1:1: expected a Service: a mapping with apiVersion, kind, metadata and spec",
  ]);
});

t.test("a service again with named revisions is its next version, in order", async (t) => {
  const version = (revision: string, traffic = "") =>
    service().replace("    metadata:\n", `    metadata:\n      name: ${revision}\n`) + traffic;
  const split =
    "  traffic:\n    - revisionName: hello-00001\n      percent: 80\n    - revisionName: hello-00002\n      percent: 20\n";
  t.same(
    problemsOf(`${version("hello-00001")}---\n${version("hello-00002", split)}`),
    [],
    "the later one may split across both",
  );
  t.match(
    problemsOf(`${version("hello-00002", split)}---\n${version("hello-00001")}`).join("\n"),
    /spec\.traffic\[0\]\.revisionName: revision hello-00001 does not exist/,
    "an earlier document cannot refer to a later one's revision",
  );
  t.match(
    problemsOf(`${version("hello-00001")}---\n${version("hello-00001")}`).join("\n"),
    /svc\.yaml:\d+:\d+: spec\.template\.metadata\.name: revision hello-00001 is declared twice \(first at svc\.yaml:1\)/,
  );
  t.match(
    problemsOf(`${version("hello-00001")}---\n${service()}`).join("\n"),
    /service default\/hello is defined twice \(first at svc\.yaml:1\); to declare several revisions of it, give each document its own spec\.template\.metadata\.name/,
  );
});
