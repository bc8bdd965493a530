// sluice apply, validate and status against a real kube-apiserver with the chart installed by a real
// helm: Brokers, Triggers and sources beside Services or alone. Without the Eventing CRDs the
// message says how to turn them on (and status leaves Eventing out); with them, server-side apply
// creates, leaves unchanged and configures; a locally invalid Trigger (file:line:col) and a rule
// only the API server knows (its dry run) each write nothing; status shows the statuses eventing
// would write, set here by hand through the status subresource.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { EVENTING_KINDS } from "../../eventing/kubernetes/kinds.ts";
import { CHART, helm, helmSkip } from "../charts/chart.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { waitFor } from "../helpers/processes.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { sluice as runSluice } from "../helpers/sluice-cli.ts";
import { tempDir } from "../helpers/temp.ts";

const skip = (await skipUnlessControlPlane(t)) || helmSkip();
// A control plane, two helm runs and about 20 runs of the CLI on a busy 2-core machine.
t.setTimeout(420_000);

const sluice = (args: string[]) => runSluice(args, { timeoutMs: 60_000 });

const RELEASE_NAMESPACE = "sluice-system";
const NATS = ["--set", "eventing.natsUrl=nats://nats.nats.svc:4222"];

const broker = (name: string) => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
`;
const trigger = (name: string, brokerName: string, extra = "") => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
spec:
  broker: ${brokerName}
  filter:
    attributes:
      type: dev.example.order
  subscriber:
    uri: http://receiver.example.com/events
${extra}`;
const ping = (schedule: string) => `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: heartbeat
spec:
  schedule: "${schedule}"
  data: '{"beat": true}'
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
`;
const service = (name: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/example/${name}:1
`;

t.test("a locally invalid Trigger needs no cluster: file:line:col, nothing sent", async (t) => {
  const dir = tempDir(t, "sluice-cluster-eventing-");
  const port = await refusedPort(t);
  const closed = join(dir, "closed");
  writeFileSync(
    closed,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: x } }]
contexts: [{ name: here, context: { cluster: c, user: u } }]
current-context: here
`,
  );
  const file = join(dir, "bad.yaml");
  writeFileSync(file, `${broker("default")}---\n${trigger("orders", "default", "  colour: red\n")}`);
  const result = await sluice(["apply", "-f", file, "--kubeconfig", closed]);
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, `${file}:17:3: spec.colour: unknown field`);
  t.match(result.stderr, "nothing was applied");
  t.notMatch(result.stderr, "cannot reach", "no call was made");
});

t.test("Eventing on a real API server with the chart installed by helm", { skip }, async (t) => {
  const cp = await startControlPlane(t, {
    controllerManager: false,
    users: [{ name: "viewer", token: "viewer-token" }],
  });
  const kube = ["--kubeconfig", cp.kubeconfigPath];
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const dir = tempDir(t, "sluice-cluster-eventing-");
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const helmIn = (args: string[]) => helm([...args, "--kubeconfig", cp.kubeconfigPath]);
  type Kind = { group: string; version: string; plural: string };
  const BROKERS = { group: "eventing.knative.dev", version: "v1", plural: "brokers" };
  const TRIGGERS = { group: "eventing.knative.dev", version: "v1", plural: "triggers" };
  const PINGS = { group: "sources.knative.dev", version: "v1", plural: "pingsources" };
  const served = (kind: Kind) =>
    waitFor(
      `${kind.plural}.${kind.group} served`,
      () => custom.listNamespacedCustomObject({ ...kind, namespace: "default" }),
      { timeoutMs: 30_000, everyMs: 100 },
    );
  const get = (kind: Kind, name: string) =>
    custom.getNamespacedCustomObject({ ...kind, namespace: "default", name }).then(
      (object) => object as { metadata: k8s.V1ObjectMeta; spec: Record<string, unknown> },
      () => undefined,
    );
  const eventing = write(
    "eventing.yaml",
    `${broker("default")}---\n${trigger("orders", "default")}---\n${ping("*/2 * * * *")}`,
  );

  await t.test("the chart without Eventing: how to turn it on; status leaves it out", async (t) => {
    const installed = helmIn([
      "install",
      "sluice",
      CHART,
      "-n",
      RELEASE_NAMESPACE,
      "--create-namespace",
      "--wait=false",
    ]);
    t.equal(installed.status, 0, `helm install:\n${installed.stdout}${installed.stderr}`);
    // Right after Established, a new resource's storage may still answer 429 for a moment.
    for (const plural of ["services", "revisions"])
      await served({ group: "serving.sluice.dev", version: "v1", plural });
    const apply = await sluice(["apply", "-f", eventing, ...kube]);
    t.equal(apply.code, 1, apply.stderr);
    t.match(apply.stderr, `the API server at ${cp.server} does not serve brokers.eventing.knative.dev`);
    t.match(apply.stderr, "the Eventing CRDs are not installed: helm upgrade sluice charts/sluice");
    t.match(apply.stderr, "--set eventing.enabled=true");
    const validate = await sluice(["validate", "-f", eventing, ...kube]);
    t.equal(validate.code, 1);
    t.match(validate.stderr, "the Eventing CRDs are not installed");

    const status = await sluice(["status", ...kube]);
    t.equal(status.code, 0, status.stderr);
    t.equal(status.stderr, "");
    t.match(status.stdout, "no services in namespace default");
    t.notMatch(status.stdout, "BROKER", "skipped silently");
    const asked = await sluice(["status", ...kube, "--eventing"]);
    t.equal(asked.code, 1);
    t.match(asked.stderr, "the Eventing CRDs are not installed");
  });

  await t.test("helm upgrade with eventing.enabled, as the message says", async (t) => {
    const upgraded = helmIn([
      "upgrade",
      "sluice",
      CHART,
      "-n",
      RELEASE_NAMESPACE,
      "--reuse-values",
      "--wait=false",
      "--set",
      "eventing.enabled=true",
      ...NATS,
    ]);
    t.equal(upgraded.status, 0, `helm upgrade:\n${upgraded.stdout}${upgraded.stderr}`);
    for (const kind of EVENTING_KINDS) await served(kind);
  });

  await t.test("created, unchanged, configured", async (t) => {
    const validate = await sluice(["validate", "-f", eventing, ...kube]);
    t.equal(validate.code, 0, validate.stderr);
    t.match(validate.stdout, "Trigger default/orders on Broker default → http://receiver.example.com/events");
    t.match(
      validate.stdout,
      `valid: 0 services and 3 eventing resources in 1 file (the API server at ${cp.server} accepts them: dry run)`,
    );
    t.equal(await get(BROKERS, "default"), undefined, "the dry run wrote nothing");

    const first = await sluice(["apply", "-f", eventing, ...kube]);
    t.equal(first.code, 0, first.stderr);
    t.equal(
      first.stdout,
      "Broker default/default: created\nTrigger default/orders: created\nPingSource default/heartbeat: created\n",
    );
    const created = await get(TRIGGERS, "orders");
    t.match(created?.metadata.managedFields, [{ manager: "sluice", operation: "Apply" }]);

    const again = await sluice(["apply", "-f", eventing, ...kube]);
    t.equal(again.code, 0, again.stderr);
    t.equal(
      again.stdout,
      "Broker default/default: unchanged\nTrigger default/orders: unchanged\nPingSource default/heartbeat: unchanged\n",
    );

    const changed = write(
      "changed.yaml",
      `${broker("default")}---\n${trigger("orders", "default")}---\n${ping("*/5 * * * *")}`,
    );
    const third = await sluice(["apply", "-f", changed, ...kube]);
    t.equal(third.code, 0, third.stderr);
    t.equal(
      third.stdout,
      "Broker default/default: unchanged\nTrigger default/orders: unchanged\nPingSource default/heartbeat: configured\n",
    );
    t.equal((await get(PINGS, "heartbeat"))?.spec.schedule, "*/5 * * * *");

    // Beside a Service, with the Broker the cluster has (not in the file): a Trigger to it.
    const mixed = write(
      "mixed.yaml",
      `${service("hello")}---\n${trigger("to-hello", "default").replace(
        "    uri: http://receiver.example.com/events\n",
        "    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: hello\n",
      )}`,
    );
    const both = await sluice(["apply", "-f", mixed, ...kube]);
    t.equal(both.code, 0, both.stderr);
    t.equal(both.stdout, "hello: created\nTrigger default/to-hello: created\n");
  });

  await t.test("an invalid Trigger: file:line:col, nothing written", async (t) => {
    const good = write("a-good.yaml", broker("second"));
    const bad = write("b-bad.yaml", trigger("lost", "nowhere"));
    const result = await sluice(["apply", "-f", good, "-f", bad, ...kube]);
    t.equal(result.code, 2, result.stderr);
    t.match(result.stderr, `${bad}:6:11: spec.broker: no Broker "nowhere" in namespace "default"`);
    t.match(result.stderr, "nothing was applied");
    t.equal(result.stdout, "");
    t.equal(await get(BROKERS, "second"), undefined, "the valid file was not applied either");
    t.equal(await get(TRIGGERS, "lost"), undefined);
  });

  await t.test("a rule only the API server knows: its dry run names it, nothing written", async (t) => {
    // Valid here; the CRD's rule refuses a Trigger moved to another Broker.
    const moved = write("moved.yaml", `${broker("other")}---\n${trigger("orders", "other")}`);
    const offline = await sluice(["validate", "-f", moved]);
    t.equal(offline.code, 0, offline.stderr);

    const validate = await sluice(["validate", "-f", moved, ...kube]);
    t.equal(validate.code, 2, validate.stderr);
    t.match(validate.stderr, `${moved}:6: Trigger default/orders: refused by the API server:`);
    t.match(validate.stderr, "spec.broker cannot change");

    const apply = await sluice(["apply", "-f", moved, ...kube]);
    t.equal(apply.code, 1, apply.stderr);
    t.match(apply.stderr, "Trigger default/orders: refused by the API server:");
    t.match(apply.stderr, "spec.broker cannot change");
    t.match(apply.stderr, "nothing was applied");
    t.equal(apply.stdout, "");
    t.equal(await get(BROKERS, "other"), undefined, "the Broker before it was not applied");
    t.equal((await get(TRIGGERS, "orders"))?.spec.broker, "default");
  });

  await t.test("status: the statuses eventing writes, set here by hand", async (t) => {
    const before = await sluice(["status", ...kube]);
    t.equal(before.code, 0, before.stderr);
    t.match(before.stdout, /^BROKER +ADDRESS +READY +REASON$/m);
    t.match(before.stdout, /^default +- +- +-$/m);
    t.match(before.stdout, "Broker default: no status yet; is sluice's eventing component running?");

    const setStatus = async (kind: Kind, name: string, status: Record<string, unknown>) => {
      const object = (await custom.getNamespacedCustomObject({
        ...kind,
        namespace: "default",
        name,
      })) as Record<string, unknown>;
      await custom.replaceNamespacedCustomObjectStatus({
        ...kind,
        namespace: "default",
        name,
        body: { ...object, status },
      });
    };
    const at = new Date().toISOString();
    const address = "http://sluice-eventing.sluice-system.svc.cluster.local/default/default";
    await setStatus(BROKERS, "default", {
      observedGeneration: 1,
      address: { url: address },
      conditions: [
        { type: "Addressable", status: "True", lastTransitionTime: at },
        { type: "Ready", status: "True", lastTransitionTime: at },
      ],
    });
    await setStatus(TRIGGERS, "orders", {
      observedGeneration: 1,
      subscriberUri: "http://receiver.example.com/events",
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: at }],
    });
    await setStatus(TRIGGERS, "to-hello", {
      observedGeneration: 1,
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "InvalidSpec",
          message: 'spec.subscriber.ref: no Service "hello"',
          lastTransitionTime: at,
        },
      ],
    });
    await setStatus(PINGS, "heartbeat", {
      observedGeneration: 2,
      sinkUri: address,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: at }],
    });

    const table = await sluice(["status", ...kube]);
    t.equal(table.code, 0, table.stderr);
    t.match(table.stdout, /^SERVICE +URL +READY/m, "the services first");
    t.match(table.stdout, new RegExp(`^default +${address.replaceAll(".", "\\.")} +True +-$`, "m"));
    t.match(table.stdout, /^TRIGGER +BROKER +SUBSCRIBER URI +READY +REASON$/m);
    t.match(table.stdout, /^orders +default +http:\/\/receiver\.example\.com\/events +True +-$/m);
    t.match(table.stdout, /^to-hello +default +- +False +InvalidSpec$/m);
    t.match(table.stdout, /^SOURCE +KIND +SINK URI +READY +REASON$/m);
    t.match(table.stdout, /^heartbeat +PingSource +http:\/\/sluice-eventing\S+ +True +-$/m);
    t.match(
      table.stdout,
      'Trigger to-hello: Ready False: InvalidSpec: spec.subscriber.ref: no Service "hello"',
    );
    t.notMatch(table.stdout, "Broker default: no status yet");

    const only = await sluice(["status", ...kube, "--eventing"]);
    t.equal(only.code, 0, only.stderr);
    t.notMatch(only.stdout, "SERVICE");
    t.match(only.stdout, /^BROKER +ADDRESS/);

    const all = await sluice(["status", ...kube, "-A", "--eventing"]);
    t.match(all.stdout, /^default\/orders +default +http/m);

    const json = await sluice(["status", ...kube, "--json"]);
    t.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    t.match(parsed.services, [{ name: "hello" }]);
    t.match(parsed.eventing.brokers, [
      { kind: "Broker", name: "default", status: { address: { url: address } } },
    ]);
    t.match(parsed.eventing.triggers, [
      { name: "orders", broker: "default", status: { subscriberUri: "http://receiver.example.com/events" } },
      { name: "to-hello", status: { conditions: [{ type: "Ready", status: "False" }] } },
    ]);
    t.match(parsed.eventing.sources, [
      { kind: "PingSource", name: "heartbeat", status: { sinkUri: address } },
    ]);

    // Someone who may list Services but not Eventing: the services, and what could not be read.
    const rbac = cp.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: {
        metadata: { name: "services-viewer" },
        rules: [{ apiGroups: ["serving.sluice.dev"], resources: ["services", "revisions"], verbs: ["list"] }],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: "services-viewer" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "services-viewer" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "viewer" }],
      },
    });
    const viewer = ["--kubeconfig", cp.writeKubeconfig("viewer-token", "viewer")];
    const limited = await waitFor(
      "the binding to take effect",
      async () => {
        const result = await sluice(["status", ...viewer]);
        return result.code === 0 ? result : undefined;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
    t.match(limited.stdout, /^hello +- +-/m);
    t.match(
      limited.stdout,
      "eventing: forbidden: cannot list brokers.eventing.knative.dev in namespace default",
    );
    const forbidden = await sluice(["status", ...viewer, "--eventing"]);
    t.equal(forbidden.code, 1);
    t.match(forbidden.stderr, "forbidden: cannot list");

    const local = await sluice(["status", "--eventing"]);
    t.equal(local.code, 2);
    t.match(local.stderr, "--eventing needs a cluster");
  });
});
