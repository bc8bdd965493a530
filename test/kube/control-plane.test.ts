// The Kubernetes test harness itself: a real etcd, kube-apiserver and kube-controller-manager on
// loopback, and the test node standing in for the kubelet. A Deployment of the test app goes
// through the real deployment and replicaset controllers onto the test node, the endpointslice
// controller publishes it, and a request reaches it at its pod IP.
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { fetch } from "undici";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test("the control plane and the test node run a Deployment's pods", { skip }, async (t) => {
  const cp = await startControlPlane(t);
  t.comment(`control plane answered in ${cp.startMs} ms`);
  const node = await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
  const discovery = cp.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
  const namespace = "harness";

  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "greeting" }, data: { VERSION: "from-configmap" } },
  });
  t.equal(
    (await core.readNamespacedConfigMap({ name: "greeting", namespace })).data?.VERSION,
    "from-configmap",
  );

  const labels = { app: "hello" };
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: "hello" },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  });
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: "hello" },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: "app",
                image: "node:24",
                command: ["node", "test/fixtures/app.ts"],
                ports: [{ containerPort: 8080, name: "http" }],
                env: [
                  { name: "PORT", value: "8080" },
                  { name: "K_REVISION", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "VERSION", valueFrom: { configMapKeyRef: { name: "greeting", key: "VERSION" } } },
                ],
                readinessProbe: { httpGet: { path: "/_state", port: "http" }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
  });

  const deployment = await waitFor(
    "the Deployment to have a ready replica",
    async () => {
      const d = await apps.readNamespacedDeployment({ name: "hello", namespace });
      return d.status?.readyReplicas === 1 ? d : undefined;
    },
    { timeoutMs: 30_000, everyMs: 100 },
  );
  t.equal(deployment.status?.availableReplicas, 1, "available through the real controllers");

  const pods = await core.listNamespacedPod({ namespace, labelSelector: "app=hello" });
  t.equal(pods.items.length, 1);
  const pod = pods.items[0];
  t.equal(pod.spec?.nodeName, node.name, "bound to the test node");
  const podIP = pod.status?.podIP ?? "";
  t.match(podIP, /^10\.\d+\.\d+\.\d+$/, "a pod address in the node's pod range");
  t.not(podIP, node.hostIP);
  t.equal(pod.status?.containerStatuses?.[0].ready, true);

  const slice = await waitFor(
    "an EndpointSlice listing the pod as ready",
    async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: "kubernetes.io/service-name=hello",
      });
      return slices.items.find((s) =>
        (s.endpoints ?? []).some((e) => e.addresses.includes(podIP) && e.conditions?.ready === true),
      );
    },
    { timeoutMs: 20_000, everyMs: 100 },
  );
  t.equal(slice.endpoints?.[0].nodeName, node.name);
  t.equal(slice.ports?.[0].port, 8080);

  const res = await fetch(`http://${podIP}:8080/headers`);
  t.equal(res.status, 200, "the app answers at the pod's address");
  const body = (await res.json()) as { revision: string; version: string };
  t.equal(body.revision, pod.metadata?.name, "env from a fieldRef");
  t.equal(body.version, "from-configmap", "env from a ConfigMap key");

  const pid = node.pods().find((p) => p.name === pod.metadata?.name)?.pids.app;
  t.ok(pid && alive(pid), "the container runs as a local process");

  await apps.deleteNamespacedDeployment({ name: "hello", namespace, propagationPolicy: "Background" });
  await waitFor("the container process to stop", () => pid !== undefined && !alive(pid), {
    timeoutMs: 30_000,
    everyMs: 50,
  });
  await waitFor(
    "the pod object to go",
    async () => (await core.listNamespacedPod({ namespace })).items.length === 0,
    { timeoutMs: 20_000, everyMs: 100 },
  );
  t.same(node.pods(), [], "the node runs nothing any more");

  await cp.restartApiServer();
  const after = await core.readNamespacedConfigMap({ name: "greeting", namespace });
  t.equal(
    after.data?.VERSION,
    "from-configmap",
    "the API server answers again after a restart, from the same etcd",
  );
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "after-restart" },
      spec: {
        containers: [
          { name: "main", image: "node:24", command: ["node", "-e", "setInterval(() => {}, 1000)"] },
        ],
      },
    },
  });
  await waitFor(
    "the test node to run a pod made after the restart",
    async () =>
      (await core.readNamespacedPod({ name: "after-restart", namespace })).status?.phase === "Running",
    { timeoutMs: 20_000, everyMs: 100 },
  );
  t.pass("the test node watches pods again after the restart");
});

t.test("a ServiceAccount's token is subject to RBAC", { skip }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const rbac = cp.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "reader" } } });
  const token = await cp.serviceAccountToken("default", "reader");
  const asReader = cp.kubeConfigFor(token, "reader").makeApiClient(k8s.CoreV1Api);

  await t.rejects(asReader.listNamespacedConfigMap({ namespace: "default" }), { code: 403 }, "no verbs yet");
  await rbac.createNamespacedRole({
    namespace: "default",
    body: {
      metadata: { name: "configmap-reader" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: "default",
    body: {
      metadata: { name: "reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "default" }],
    },
  });
  const list = await waitFor("the binding to take effect", () =>
    asReader.listNamespacedConfigMap({ namespace: "default" }),
  );
  t.ok(Array.isArray(list.items), "list is allowed once bound");
  await t.rejects(
    asReader.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "x" } } }),
    { code: 403 },
    "create is still forbidden",
  );
});
