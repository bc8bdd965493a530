// A KafkaSource from the cluster that cannot consume (real kube-apiserver with the chart's CRDs
// and RBAC, real Kafka with topic auto-creation off, real nats-server): its Ready condition turns
// False, reason SourceFailing, with a message naming the topic; once the topic is created it turns
// True and the record is delivered. Before, Ready stayed True while the source only logged.
import * as k8s from "@kubernetes/client-node";
import { Admin, Producer } from "@platformatic/kafka";
import t from "tap";
import { helmSkip, type Manifest, NAMESPACE, RELEASE } from "../charts/chart.ts";
import { startRecorder } from "../eventing/event-recorder.ts";
import { skipUnlessKafka, startKafka } from "../helpers/kafka.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installChartWithEventing } from "../helpers/kube/eventing-chart.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessNats() || skipUnlessKafka() || helmSkip();

const EVENTING = `${RELEASE}-sluice-eventing`;
const NS = "demo";

type Obj = Manifest & { status?: Manifest };
const ready = (object: Obj | undefined) =>
  object?.status?.conditions?.find((c: Manifest) => c.type === "Ready") as Manifest | undefined;

// Its test allows 300 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(330_000);
t.test("a failing KafkaSource on Kubernetes", { skip, timeout: 300_000 }, async (t) => {
  const [cp, kafka, nats, sink] = await Promise.all([
    startControlPlane(t, { controllerManager: false }),
    startKafka(t, { autoCreateTopics: false }),
    startNats(t),
    startRecorder(t),
  ]);
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const ref = { group: "sources.knative.dev", version: "v1", namespace: NS, plural: "kafkasources" };
  await installChartWithEventing(t, cp, [[ref.group, ref.version, ref.plural]]);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const token = await cp.serviceAccountToken(NAMESPACE, EVENTING);
  await startProcess(
    t,
    "eventing/main.ts",
    {
      SLUICE_PLATFORM: "kubernetes",
      SLUICE_KUBECONFIG: cp.writeKubeconfig(token, "eventing"),
      EVENTING_INGRESS_URL: `http://${EVENTING}.${NAMESPACE}.svc.cluster.local`,
      NATS_URL: nats.url,
      EVENTING_PORT: "0",
      EVENTING_ADMIN_PORT: "0",
      EVENTING_WEBHOOK_PORT: "0",
      SLUICE_ROUTER_URL: sink.url,
      SLUICE_DOMAIN: "example.com",
    },
    { timeoutMs: 60_000 },
  );
  await custom.createNamespacedCustomObject({
    ...ref,
    body: k8s.loadYaml(`apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: late, namespace: ${NS} }
spec:
  bootstrapServers: ["${kafka.bootstrap}"]
  topics: [late-topic]
  consumerGroup: group-late
  initialOffset: earliest
  sink: { uri: "${sink.url}/late" }
`),
  });
  const condition = (status: string) =>
    waitFor(
      `KafkaSource late Ready=${status}`,
      async () => {
        const c = ready((await custom.getNamespacedCustomObject({ ...ref, name: "late" })) as Obj);
        return c?.status === status ? c : undefined;
      },
      { timeoutMs: 90_000, everyMs: 250 },
    );
  const failing = await condition("False");
  t.equal(failing.reason, "SourceFailing");
  t.match(failing.message, /late-topic/, `the message names the topic: ${failing.message}`);

  const client = { clientId: "test", bootstrapBrokers: [kafka.bootstrap], retries: 10, retryDelay: 500 };
  const admin = new Admin(client);
  t.teardown(() => admin.close());
  await admin.createTopics({ topics: ["late-topic"], partitions: 1, replicas: 1 });
  const producer = new Producer(client);
  t.teardown(() => producer.close());
  await producer.send({ messages: [{ topic: "late-topic", value: Buffer.from("hello") }] });
  await condition("True");
  await waitFor("the record delivered", () => sink.at("/late").length >= 1, { timeoutMs: 60_000 });
});
