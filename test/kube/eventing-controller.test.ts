// Eventing in Kubernetes mode (SLUICE_PLATFORM=kubernetes), as a real process against a real
// kube-apiserver and nats-server: the chart's Eventing CRDs and the eventing ClusterRole (rendered by
// helm) installed, the process running as the chart's ServiceAccount (so RBAC is the chart's), a
// Broker and Trigger created through the API get their status (address, Ready) and deliver to a
// subscriber on 127.0.0.1; an invalid Trigger is Ready=False with its problem while the rest keeps
// working; deleting a Trigger removes its consumer and stops its delivery; a PingSource from the
// cluster runs; a GitHubSource's Secret read from its namespace (NotRunning until it exists), a
// signed delivery on the webhook port 202 and a bad signature 401; a SinkBinding Ready; a ref goes to SLUICE_ROUTER_URL with its
// Service's Host; delivery goes on while the API server restarts and later changes are picked up;
// deleting a Broker refuses its Triggers and the ingress 404s; PUT /v1/eventing is refused.

import * as k8s from "@kubernetes/client-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import t from "tap";
import { Agent, request } from "undici";
import { freePort } from "../../common/free-port.ts";
import { signBody } from "../../eventing/sources/github-signature.ts";
import { consumerName, streamName } from "../../eventing/store/names.ts";
import { helmSkip, type Manifest, NAMESPACE, RELEASE } from "../charts/chart.ts";
import { startRecorder } from "../eventing/event-recorder.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installChartWithEventing } from "../helpers/kube/eventing-chart.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessNats() || helmSkip();

const EVENTING = `${RELEASE}-sluice-eventing`;
const INGRESS_URL = `http://${EVENTING}.${NAMESPACE}.svc.cluster.local`;
const NS = "demo";

type Obj = Manifest & { status?: Manifest };

const ready = (object: Obj | undefined) =>
  object?.status?.conditions?.find((c: Manifest) => c.type === "Ready") as Manifest | undefined;

// Its test allows 300 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(330_000);
t.test("eventing in Kubernetes mode against a real API server", { skip, timeout: 300_000 }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);

  // The chart, installed with eventing on by a real helm: the Eventing CRDs, eventing's
  // ServiceAccount and RBAC (no controller-manager: its Deployments make no pods; the process runs
  // here as that ServiceAccount instead).
  await installChartWithEventing(t, cp, [
    ["eventing.knative.dev", "v1", "brokers"],
    ["eventing.knative.dev", "v1", "triggers"],
    ["sources.knative.dev", "v1", "pingsources"],
    ["sources.knative.dev", "v1alpha1", "githubsources"],
  ]);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const token = await cp.serviceAccountToken(NAMESPACE, EVENTING);

  const nats = await startNats(t);
  const recorder = await startRecorder(t);
  const port = await freePort();
  const eventing = await startProcess(
    t,
    "eventing/main.ts",
    {
      SLUICE_PLATFORM: "kubernetes",
      SLUICE_KUBECONFIG: cp.writeKubeconfig(token, "eventing"),
      EVENTING_INGRESS_URL: INGRESS_URL,
      NATS_URL: nats.url,
      EVENTING_PORT: String(port),
      EVENTING_ADMIN_PORT: "0",
      EVENTING_WEBHOOK_PORT: "0",
      // The recorder stands in for the router here: what matters is where a ref is sent, and with
      // which Host (the real router's path from eventing is test/eventing/wake-from-zero.test.ts's).
      SLUICE_ROUTER_URL: recorder.url,
      SLUICE_DOMAIN: "example.com",
    },
    { timeoutMs: 60_000 },
  );
  const admin = `http://127.0.0.1:${eventing.message.adminPort}`;
  const ingress = `http://127.0.0.1:${port}`;
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const consumersOf = async (broker: string) => {
    const names: string[] = [];
    for await (const info of jsm.consumers.list(streamName(NS, broker))) names.push(info.name);
    return names;
  };

  const ref = (plural: string, group = "eventing.knative.dev", version = "v1") => ({
    group,
    version,
    namespace: NS,
    plural,
  });
  const create = (plural: string, yaml: string, group?: string, version?: string) =>
    custom.createNamespacedCustomObject({ ...ref(plural, group, version), body: k8s.loadYaml(yaml) });
  const get = async (plural: string, name: string, group?: string, version?: string) =>
    (await custom.getNamespacedCustomObject({ ...ref(plural, group, version), name })) as Obj;
  /** Waits until the object's Ready condition has `status`; answers the object. */
  const untilReady = (plural: string, name: string, status: string, group?: string, version?: string) =>
    waitFor(
      `${plural}/${name} Ready=${status}`,
      async () => {
        const object = await get(plural, name, group, version);
        return ready(object)?.status === status ? object : undefined;
      },
      { timeoutMs: 30_000, everyMs: 100 },
    );
  const post = (id: string, type = "dev.example.order") =>
    fetch(`${ingress}/${NS}/default`, {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": id,
        "ce-source": "/test",
        "ce-type": type,
        "content-type": "application/json",
      },
      body: JSON.stringify({ id }),
    });

  await t.test("a Broker and a Trigger from the API: status, and an event delivered", async (t) => {
    // As in Knative's docs, unchanged.
    await create(
      "brokers",
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: ${NS}
`,
    );
    await create(
      "triggers",
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders
  namespace: ${NS}
spec:
  broker: default
  filter:
    attributes:
      type: dev.example.order
  subscriber:
    uri: ${recorder.url}/orders
`,
    );
    const broker = await untilReady("brokers", "default", "True");
    t.equal(broker.status?.address?.url, `${INGRESS_URL}/${NS}/default`, "status.address.url");
    t.equal(broker.status?.observedGeneration, broker.metadata.generation, "observedGeneration");
    t.match(broker.status?.conditions, [{ type: "Addressable", status: "True" }, { type: "Ready" }]);
    const trigger = await untilReady("triggers", "orders", "True");
    t.equal(trigger.status?.subscriberUri, `${recorder.url}/orders`, "status.subscriberUri");

    const res = await post("e1");
    t.equal(res.status, 202, await res.text());
    await waitFor("e1 at /orders", () => recorder.ids("/orders").has("e1"), { timeoutMs: 15_000 });
    const other = await post("not-an-order", "dev.example.other");
    t.equal(other.status, 202);
    t.equal((await fetch(`${admin}/readyz`)).status, 200, "ready once synced");
  });

  await t.test("an invalid Trigger is not Ready, with its problem; the rest keeps working", async (t) => {
    await create(
      "triggers",
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: nobroker, namespace: ${NS} }
spec:
  broker: missing
  subscriber: { uri: ${recorder.url}/nobroker }
`,
    );
    await create(
      "triggers",
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: twoops, namespace: ${NS} }
spec:
  broker: default
  filters:
    - exact: { type: a }
      prefix: { type: b }
  subscriber: { uri: ${recorder.url}/twoops }
`,
    );
    const nobroker = ready(await untilReady("triggers", "nobroker", "False"));
    t.equal(nobroker?.reason, "InvalidSpec");
    t.match(nobroker?.message, /spec\.broker: no Broker "missing" in namespace "demo"/);
    const twoops = ready(await untilReady("triggers", "twoops", "False"));
    t.match(twoops?.message, /spec\.filters\[0\]/, "the problem names its path");
    t.notOk((await get("triggers", "twoops")).status?.subscriberUri, "no subscriber URI when refused");

    t.equal((await post("e2")).status, 202);
    await waitFor("e2 at /orders", () => recorder.ids("/orders").has("e2"), { timeoutMs: 15_000 });
    t.equal(ready(await get("brokers", "default"))?.status, "True", "the Broker stays Ready");
    t.notOk(
      (await consumersOf("default")).includes(consumerName("twoops")),
      "no consumer for a refused Trigger",
    );
  });

  await t.test("a Trigger fixed through the API becomes Ready", async (t) => {
    const body = await get("triggers", "twoops");
    body.spec.filters = [{ exact: { type: "dev.example.order" } }];
    await custom.replaceNamespacedCustomObject({ ...ref("triggers"), name: "twoops", body });
    await untilReady("triggers", "twoops", "True");
    t.equal((await post("e3")).status, 202);
    await waitFor("e3 at /twoops", () => recorder.ids("/twoops").has("e3"), { timeoutMs: 15_000 });
  });

  await t.test("deleting a Trigger stops its delivery", async (t) => {
    await custom.deleteNamespacedCustomObject({ ...ref("triggers"), name: "orders" });
    await waitFor(
      "the deleted Trigger's consumer removed",
      async () => !(await consumersOf("default")).includes(consumerName("orders")),
      { timeoutMs: 20_000, everyMs: 100 },
    );
    const before = recorder.at("/orders").length;
    t.equal((await post("e4")).status, 202);
    // The other Trigger with the same filter gets it: the event was dispatched.
    await waitFor("e4 at /twoops", () => recorder.ids("/twoops").has("e4"), { timeoutMs: 15_000 });
    t.notOk(recorder.ids("/orders").has("e4"), "the deleted Trigger's subscriber did not get it");
    t.equal(recorder.at("/orders").length, before);
  });

  await t.test("a PingSource from the cluster runs", async (t) => {
    await create(
      "pingsources",
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: tick, namespace: ${NS} }
spec:
  schedule: "* * * * * *"
  data: '{"message": "Hello world!"}'
  sink:
    uri: ${recorder.url}/ping
`,
      "sources.knative.dev",
    );
    const ping = await untilReady("pingsources", "tick", "True", "sources.knative.dev");
    t.equal(ping.status?.sinkUri, `${recorder.url}/ping`);
    await waitFor("a ping", () => recorder.at("/ping").length > 0, { timeoutMs: 15_000 });
    t.equal(recorder.at("/ping")[0].type, "dev.knative.sources.ping");

    await custom.deleteNamespacedCustomObject({ ...ref("pingsources", "sources.knative.dev"), name: "tick" });
    await waitFor(
      "the PingSource gone from GET /v1/eventing",
      async () => {
        const status = (await (await fetch(`${admin}/v1/eventing`)).json()) as { sources: unknown[] };
        return status.sources.length === 0;
      },
      { timeoutMs: 15_000, everyMs: 100 },
    );
  });

  await t.test(
    "a GitHubSource with its Secret from the source's namespace, on the webhook port",
    async (t) => {
      await create(
        "githubsources",
        `apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: { name: repo, namespace: ${NS} }
spec:
  ownerAndRepository: example/repo
  eventTypes: [push]
  secretToken: { secretKeyRef: { name: gh, key: secret } }
  sink: { uri: ${recorder.url}/github }
`,
        "sources.knative.dev",
        "v1alpha1",
      );
      const missing = ready(
        await untilReady("githubsources", "repo", "False", "sources.knative.dev", "v1alpha1"),
      );
      t.equal(missing?.reason, "NotRunning", "no Secret yet");
      t.match(missing?.message, /Secret "gh" in namespace "demo" not found/);
      await core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: "gh", namespace: NS }, stringData: { secret: "hook-s3cret" } },
      });
      await untilReady("githubsources", "repo", "True", "sources.knative.dev", "v1alpha1");

      const webhook = `http://127.0.0.1:${eventing.message.webhookPort}/${NS}/repo`;
      const push = JSON.stringify({
        ref: "refs/heads/main",
        repository: { name: "repo", owner: { login: "example" } },
      });
      const deliver = (signature: string) =>
        fetch(webhook, {
          method: "POST",
          body: push,
          headers: {
            "content-type": "application/json",
            "x-github-event": "push",
            "x-github-delivery": `d-${signature.slice(-6)}`,
            "x-hub-signature-256": signature,
          },
        });
      t.equal(
        (await deliver(signBody("hook-s3cret", Buffer.from(push)))).status,
        202,
        "signed with the Secret's key",
      );
      t.equal(recorder.at("/github").length, 1, "sent on to the sink");
      t.equal((await deliver(signBody("guessed", Buffer.from(push)))).status, 401, "a bad signature");
      t.equal(recorder.at("/github").length, 1, "not sent on");
    },
  );

  await t.test("a SinkBinding is Ready with its sinkUri (the autoscaler injects it)", async (t) => {
    await create(
      "sinkbindings",
      `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: bind, namespace: ${NS} }
spec:
  subject: { apiVersion: serving.knative.dev/v1, kind: Service, name: emitter }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
      "sources.knative.dev",
    );
    const bound = await untilReady("sinkbindings", "bind", "True", "sources.knative.dev");
    t.equal(bound.status?.sinkUri, `${INGRESS_URL}/${NS}/default`);
  });

  await t.test("a ref to a Service goes to SLUICE_ROUTER_URL with the Service's Host", async (t) => {
    await create(
      "triggers",
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-service, namespace: ${NS} }
spec:
  broker: default
  filter: { attributes: { type: dev.example.refund } }
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: refunds }
    uri: /hooks
`,
    );
    const trigger = await untilReady("triggers", "to-service", "True");
    t.equal(trigger.status?.subscriberUri, `http://refunds.${NS}.example.com/hooks`);
    t.equal((await post("r1", "dev.example.refund")).status, 202);
    await waitFor("r1 at the router", () => recorder.ids("/hooks").has("r1"), { timeoutMs: 15_000 });
    t.equal(recorder.at("/hooks")[0].headers.host, `refunds.${NS}.example.com`);
  });

  await t.test("the API server restarting: delivery goes on, later changes are picked up", async (t) => {
    const trusting = new Agent({ connect: { ca: cp.caPem } });
    t.teardown(() => trusting.close());
    // Sanity: up, the check says so (a TLS failure would look like "down").
    t.equal((await request(`${cp.server}/livez`, { dispatcher: trusting })).statusCode, 200);
    const restarted = cp.restartApiServer();
    await waitFor(
      "the API server down",
      () =>
        request(`${cp.server}/readyz`, { dispatcher: trusting }).then(
          async (res) => {
            await res.body.dump();
            return false;
          },
          () => true, // refused: stopped, not yet started again
        ),
      { timeoutMs: 30_000 },
    );
    t.equal((await post("during", "dev.example.refund")).status, 202, "the ingress takes events");
    await waitFor("delivered while the API server is away", () => recorder.ids("/hooks").has("during"), {
      timeoutMs: 15_000,
    });
    await restarted;
    await create(
      "triggers",
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: after, namespace: ${NS} }
spec:
  broker: default
  filter: { attributes: { type: dev.example.refund } }
  subscriber: { uri: ${recorder.url}/after }
`,
    );
    await untilReady("triggers", "after", "True");
    t.equal((await post("later", "dev.example.refund")).status, 202);
    await waitFor("later at /after", () => recorder.ids("/after").has("later"), { timeoutMs: 15_000 });
  });

  await t.test("deleting the Broker: its Triggers refused for it, the ingress answers 404", async (t) => {
    await custom.deleteNamespacedCustomObject({ ...ref("brokers"), name: "default" });
    const after = ready(await untilReady("triggers", "after", "False"));
    t.match(after?.message, /spec\.broker: no Broker "default" in namespace "demo"/);
    await waitFor("404 for the deleted Broker", async () => (await post("gone")).status === 404, {
      timeoutMs: 15_000,
    });
  });

  await t.test("PUT /v1/eventing is refused: the resources are the API server's", async (t) => {
    const res = await fetch(`${admin}/v1/eventing`, {
      method: "PUT",
      headers: { "content-type": "application/yaml" },
      body: "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: x }\n",
    });
    t.equal(res.status, 405);
    t.match(await res.text(), /kubectl apply/);
  });
});
