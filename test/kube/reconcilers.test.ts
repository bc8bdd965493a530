import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { fetch } from "undici";
import { KubeClient, type Write } from "../../platform/kubernetes/kube-client.ts";
import { podServiceName } from "../../platform/kubernetes/names.ts";
import { reconcileRevision } from "../../platform/kubernetes/revision-reconciler.ts";
import { reconcileService } from "../../platform/kubernetes/service-reconciler.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installSluiceCrds } from "../helpers/kube/sluice-crds.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();

const GROUP = "serving.sluice.dev";
const namespace = "default";
/** The sluice image (the test node runs this checkout's queue-proxy/main.ts for it). */
const queueProxy = {
  image: "ghcr.io/example/sluice:dev",
  env: [
    { name: "QUEUE_METRICS_PORT", value: "-1" },
    { name: "LOG_LEVEL", value: "warn" },
  ],
};

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

function condition(object: { status?: Record<string, unknown> } | undefined, type: string) {
  return ((object?.status?.conditions ?? []) as Condition[]).find((c) => c.type === type);
}

function knativeService(name: string, containers: object[], annotations?: Record<string, string>) {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: "Service",
    metadata: { name, namespace },
    spec: { template: { ...(annotations ? { metadata: { annotations } } : {}), spec: { containers } } },
  };
}

const app = (version: string) => ({
  image: "node:24",
  command: ["node", "test/fixtures/app.ts"],
  env: [{ name: "VERSION", value: version }],
});

t.test("the Service and Revision reconcilers run a Knative-shaped Service", { skip }, async (t) => {
  const cp = await startControlPlane(t);
  // The CRDs first: the garbage collector picks up new resources on its discovery resync.
  await installSluiceCrds(cp, namespace);
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const node = await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
  await waitFor(
    "the default ServiceAccount",
    () => core.readNamespacedServiceAccount({ name: "default", namespace }),
    {
      timeoutMs: 20_000,
      everyMs: 100,
    },
  );

  let concurrent: ((write: Write) => Promise<void>) | undefined;
  const client = new KubeClient(cp.kubeConfig, {
    beforeUpdate: async (write) => {
      const act = concurrent;
      concurrent = undefined;
      await act?.(write);
    },
  });
  const createService = (body: object) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: "v1", namespace, plural: "services", body });
  const revisionReady = (name: string, scale: number) =>
    waitFor(
      `${name} ready`,
      async () => {
        const result = await reconcileRevision(client, namespace, name, scale, { queueProxy });
        return result.outcome === "reconciled" &&
          result.health.state === "ready" &&
          result.status.actualReplicas === scale
          ? result
          : undefined;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    ).catch((error) => {
      for (const pod of node.pods()) {
        t.comment(`${pod.name} user-container: ${node.logs(pod.namespace, pod.name, "user-container")}`);
        t.comment(`${pod.name} queue-proxy: ${node.logs(pod.namespace, pod.name, "queue-proxy")}`);
      }
      throw error;
    });

  await t.test("a Service becomes a Revision owned by it", async (t) => {
    await createService(knativeService("hello", [app("v1")]));
    const result = await reconcileService(client, namespace, "hello");
    t.match(result, { outcome: "reconciled", revision: "hello-00001", created: true });
    t.same(
      result.outcome === "reconciled" && result.revisions.map((r) => r.name),
      ["hello-00001"],
      "with the history the autoscaler is handed",
    );
    const revision = await client.getRevision(namespace, "hello-00001");
    const service = await client.getService(namespace, "hello");
    t.equal(revision?.metadata.ownerReferences?.[0]?.uid, service?.metadata.uid, "owned by the Service");
    t.equal(service?.status?.latestCreatedRevisionName, "hello-00001");
    t.equal(condition(service, "Ready")?.status, "Unknown", "not ready while the revision deploys");

    const before = client.writes.length;
    t.match(await reconcileService(client, namespace, "hello"), {
      outcome: "reconciled",
      revision: "hello-00001",
      created: false,
    });
    t.same(client.writes.slice(before), [], "reconciling again writes nothing");
  });

  await t.test("the Revision runs: Deployment, private Service, a ready pod, status", async (t) => {
    const before = client.writes.length;
    const ready = await revisionReady("hello-00001", 1);
    t.same(
      client.writes
        .slice(before)
        .filter((w) => w.verb === "create")
        .map((w) => `${w.kind}/${w.name}`),
      ["Deployment/hello-00001-deployment", "v1/Service/hello-00001-private"],
      "created the Deployment and the private Service once",
    );
    t.equal(ready.status.conditions.find((c) => c.type === "Ready")?.status, "True", "the Revision is Ready");

    const deployment = await apps.readNamespacedDeployment({ name: "hello-00001-deployment", namespace });
    t.same(
      deployment.spec?.template.spec?.containers.map((c) => c.name),
      ["user-container", "queue-proxy"],
      "the app and the queue-proxy sidecar",
    );
    t.equal(deployment.spec?.replicas, 1);
    const [pod] = node.pods().filter((p) => p.name.startsWith("hello-00001-deployment-"));
    t.ok(pod?.pids["user-container"] && pod.pids["queue-proxy"], "both containers run on the test node");

    await reconcileService(client, namespace, "hello");
    const service = await client.getService(namespace, "hello");
    t.equal(condition(service, "Ready")?.status, "True", "the Service is Ready");
    t.equal(service?.status?.url, "http://hello.default.example.com");
    t.equal(service?.status?.latestReadyRevisionName, "hello-00001");
    t.same(service?.status?.traffic, [{ revisionName: "hello-00001", latestRevision: true, percent: 100 }]);

    // The EndpointSlice lists the ready pod; the queue-proxy at 8012 answers with the app.
    const discovery = cp.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    const address = await waitFor(
      "a ready endpoint",
      async () => {
        const slices = await discovery.listNamespacedEndpointSlice({
          namespace,
          labelSelector: `kubernetes.io/service-name=${podServiceName("hello-00001")}`,
        });
        return slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.conditions?.ready)?.addresses[0];
      },
      { timeoutMs: 20_000, everyMs: 100 },
    );
    const res = await fetch(`http://${address}:8012/`);
    t.equal(res.status, 200);
    t.equal(await res.text(), "hello from hello-00001\n", "answered by the app through the queue-proxy");

    const steady = client.writes.length;
    await reconcileRevision(client, namespace, "hello-00001", 1, { queueProxy });
    await reconcileService(client, namespace, "hello");
    t.same(client.writes.slice(steady), [], "reconciling a steady revision and service again writes nothing");

    // Only the scale differs: the scale subresource, nothing else.
    await reconcileRevision(client, namespace, "hello-00001", 2, { queueProxy });
    t.same(
      client.writes.slice(steady).map((w) => `${w.verb} ${w.kind}`),
      ["scale Deployment", "update-status Revision"],
      "a new scale goes through the scale subresource",
    );
    const scaled = await apps.readNamespacedDeployment({ name: "hello-00001-deployment", namespace });
    t.equal(scaled.spec?.replicas, 2);
    await revisionReady("hello-00001", 1 + 1);
  });

  await t.test("a Deployment changed by someone else is put back, through a 409", async (t) => {
    await apps.patchNamespacedDeployment(
      {
        name: "hello-00001-deployment",
        namespace,
        body: { metadata: { labels: { "serving.sluice.dev/service": "other", mine: "kept" } } },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    concurrent = async (write) => {
      t.equal(write.kind, "Deployment", "the first update is the Deployment's");
      await apps.patchNamespacedDeployment(
        {
          name: "hello-00001-deployment",
          namespace,
          body: { metadata: { annotations: { touched: "yes" } } },
        },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    };
    const conflicts = client.conflicts;
    const before = client.writes.length;
    await reconcileRevision(client, namespace, "hello-00001", 2, { queueProxy });
    // The deployment controller, writing the same object, may add a 409 of its own.
    t.ok(client.conflicts > conflicts, "the update met a 409 and was retried");
    t.same(
      client.writes.slice(before).map((w) => `${w.verb} ${w.kind}`),
      ["update Deployment"],
      "one update, nothing else",
    );
    const deployment = await apps.readNamespacedDeployment({ name: "hello-00001-deployment", namespace });
    t.equal(deployment.metadata?.labels?.["serving.sluice.dev/service"], "hello", "sluice's label is back");
    t.equal(deployment.metadata?.labels?.mine, "kept", "another's label stays");
    t.equal(deployment.metadata?.annotations?.touched, "yes", "the concurrent change stays");
    t.equal(deployment.spec?.replicas, 2);
    const after = client.writes.length;
    await reconcileRevision(client, namespace, "hello-00001", 2, { queueProxy });
    t.same(client.writes.slice(after), [], "reconciling again writes nothing");
  });

  await t.test("a template change makes the next Revision; a 409 on the status is retried", async (t) => {
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: "v1",
        namespace,
        plural: "services",
        name: "hello",
        body: { spec: { template: { spec: { containers: [app("v2")] } } } },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    // Someone else writes the Service between the reconciler's read and its write.
    concurrent = async () => {
      await custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: "v1",
          namespace,
          plural: "services",
          name: "hello",
          body: { metadata: { labels: { touched: "yes" } } },
        },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    };
    const conflicts = client.conflicts;
    const result = await reconcileService(client, namespace, "hello");
    t.match(result, { outcome: "reconciled", revision: "hello-00002", created: true });
    t.equal(client.conflicts, conflicts + 1, "the status write met a 409");
    const service = await client.getService(namespace, "hello");
    t.equal(service?.metadata.labels?.touched, "yes", "the concurrent change stays");
    t.equal(service?.status?.latestCreatedRevisionName, "hello-00002", "and the status was written after it");
    t.equal(service?.status?.observedGeneration, service?.metadata.generation);
  });

  await t.test("an invalid Service gets Ready=False with every message, and nothing else", async (t) => {
    await createService(
      knativeService("broken", [app("v1")], {
        "autoscaling.knative.dev/min-scale": "many",
        "autoscaling.knative.dev/max-scale": "-3",
      }),
    );
    const result = await reconcileService(client, namespace, "broken");
    t.equal(result.outcome, "invalid");
    const service = await client.getService(namespace, "broken");
    const ready = condition(service, "Ready");
    t.equal(ready?.status, "False");
    t.equal(ready?.reason, "InvalidSpec");
    t.match(ready?.message, /min-scale/);
    t.match(ready?.message, /max-scale/);
    t.same(await client.listRevisions(namespace, "broken"), [], "no Revision");
    const before = client.writes.length;
    await reconcileService(client, namespace, "broken");
    t.same(client.writes.slice(before), [], "reconciling again writes nothing");
  });

  await t.test(
    "an image that cannot start: the Revision's and Service's status name the reason",
    async (t) => {
      await createService(knativeService("nopull", [{ image: "registry.example/nothing:1" }]));
      t.match(await reconcileService(client, namespace, "nopull"), { revision: "nopull-00001" });
      await waitFor(
        "the revision to fail",
        async () => {
          const result = await reconcileRevision(client, namespace, "nopull-00001", 1, { queueProxy });
          return result.outcome === "reconciled" && result.health.state === "failed" ? result : undefined;
        },
        { timeoutMs: 30_000, everyMs: 200 },
      );
      const revision = await client.getRevision(namespace, "nopull-00001");
      const ready = condition(revision, "Ready");
      t.equal(ready?.status, "False");
      t.equal(ready?.reason, "ErrImagePull");
      t.match(ready?.message, /registry\.example\/nothing:1/);
      t.equal(condition(revision, "ContainerHealthy")?.reason, "ErrImagePull");

      const before = client.writes.length;
      await reconcileRevision(client, namespace, "nopull-00001", 1, { queueProxy });
      t.same(client.writes.slice(before), [], "reconciling the failed revision again writes nothing");

      await reconcileService(client, namespace, "nopull");
      const service = await client.getService(namespace, "nopull");
      t.equal(condition(service, "Ready")?.status, "False");
      t.equal(condition(service, "Ready")?.reason, "RevisionFailed");
      t.match(condition(service, "Ready")?.message, /ErrImagePull/);
    },
  );

  await t.test("an hpa-class revision gets an HPA and a Deployment without replicas", async (t) => {
    await createService(
      knativeService("scaled", [app("v1")], {
        "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/metric": "cpu",
        "autoscaling.knative.dev/target": "70",
      }),
    );
    await reconcileService(client, namespace, "scaled");
    await reconcileRevision(client, namespace, "scaled-00001", 5, { queueProxy });
    const hpa = await client.getHpa(namespace, "scaled-00001");
    t.equal(hpa?.spec?.scaleTargetRef.name, "scaled-00001-deployment");
    t.equal(hpa?.spec?.metrics?.[0]?.resource?.target.averageUtilization, 70);
    const deployment = await apps.readNamespacedDeployment({ name: "scaled-00001-deployment", namespace });
    t.equal(deployment.spec?.replicas, 1, "the server's default, not the 5 asked: the HPA owns the count");
    const before = client.writes.length;
    await reconcileRevision(client, namespace, "scaled-00001", 5, { queueProxy });
    t.same(
      client.writes.slice(before).filter((w) => w.verb !== "update-status"),
      [],
      "nothing but status written again",
    );
  });

  await t.test("deleting the Service removes its Revisions and Deployments", async (t) => {
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: "v1",
      namespace,
      plural: "services",
      name: "hello",
    });
    t.same(await reconcileService(client, namespace, "hello"), { outcome: "gone" });
    await waitFor(
      "the garbage collector to remove what the Service owned",
      async () => {
        const revisions = await client.listRevisions(namespace, "hello");
        const deployments = (await apps.listNamespacedDeployment({ namespace })).items.filter((d) =>
          d.metadata?.name?.startsWith("hello-"),
        );
        const services = (await core.listNamespacedService({ namespace })).items.filter((s) =>
          s.metadata?.name?.startsWith("hello-"),
        );
        return revisions.length === 0 && deployments.length === 0 && services.length === 0;
      },
      { timeoutMs: 45_000, everyMs: 250 },
    );
    t.pass("Revisions, Deployments and private Services are gone");
  });
});
