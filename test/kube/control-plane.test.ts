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

t.test(
  "the sluice image runs a component from this checkout; deletion honours the grace period",
  { skip },
  async (t) => {
    const cp = await startControlPlane(t);
    const node = await startTestNode(t, cp);
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const namespace = "default";
    await waitFor(
      "the default ServiceAccount",
      () => core.readNamespacedServiceAccount({ name: "default", namespace }),
      {
        timeoutMs: 20_000,
        everyMs: 100,
      },
    );

    // A revision-like pod: the app on loopback and the queue-proxy in front of it, as a Deployment
    // of the platform will make them.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "revision-pod" },
        spec: {
          containers: [
            {
              name: "user-container",
              image: "node:24",
              command: ["node", "test/fixtures/app.ts"],
              env: [{ name: "PORT", value: "8080" }],
            },
            {
              name: "queue-proxy",
              image: "ghcr.io/example/sluice:dev",
              args: ["queue-proxy"],
              ports: [
                { containerPort: 8012, name: "http" },
                { containerPort: 8022, name: "admin" },
              ],
              env: [
                { name: "USER_PORT", value: "8080" },
                { name: "QUEUE_BIND_ADDRESS", value: "0.0.0.0" },
                { name: "QUEUE_METRICS_PORT", value: "-1" },
                { name: "SERVING_REVISION", value: "hello-00001" },
                { name: "SERVING_POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "SLUICE_HOP_SECRET", value: "test-hop-secret-0123456789" },
                { name: "LOG_LEVEL", value: "warn" },
              ],
              readinessProbe: { httpGet: { path: "/readyz", port: "admin" } },
            },
          ],
        },
      },
    });
    const pod = await waitFor(
      "the revision pod to be ready",
      async () => {
        const p = await core.readNamespacedPod({ name: "revision-pod", namespace });
        return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined;
      },
      { timeoutMs: 30_000, everyMs: 100 },
    ).catch((error) => {
      t.comment(node.logs(namespace, "revision-pod", "queue-proxy"));
      throw error;
    });
    const podIP = pod.status?.podIP ?? "";
    const stats = (await (await fetch(`http://${podIP}:8022/stats`)).json()) as Record<string, unknown>;
    t.equal(stats.revision, "hello-00001", "queue-proxy/main.ts of this checkout answers at the pod IP");
    t.equal(stats.pod, "revision-pod");
    t.equal(stats.ready, true, "and sees the app beside it on the pod's loopback");

    // A container that ignores SIGTERM is killed once its grace period is over.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "stubborn" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "main",
              image: "node:24",
              command: [
                "node",
                "-e",
                "process.on('SIGTERM', () => console.log('SIGTERM ignored')); console.log('started'); setInterval(() => {}, 1000)",
              ],
            },
          ],
        },
      },
    });
    await waitFor("the stubborn pod to start", () => node.logs(namespace, "stubborn").includes("started"), {
      timeoutMs: 20_000,
    });
    const pid = node.pods().find((p) => p.name === "stubborn")?.pids.main;
    t.ok(pid && alive(pid), "the stubborn container runs");
    await core.deleteNamespacedPod({ name: "stubborn", namespace });
    await waitFor(
      "the stubborn pod to be gone",
      async () =>
        !(await core.listNamespacedPod({ namespace })).items.some((p) => p.metadata?.name === "stubborn"),
      { timeoutMs: 20_000, everyMs: 100 },
    );
    t.notOk(pid && alive(pid), "its process is gone");
    t.match(node.logs(namespace, "stubborn"), /SIGTERM ignored/, "it was asked to stop first");
  },
);

t.test("a crashing container and an image the node cannot run show their reasons", { skip }, async (t) => {
  const cp = await startControlPlane(t);
  await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const namespace = "default";
  await waitFor(
    "the default ServiceAccount",
    () => core.readNamespacedServiceAccount({ name: "default", namespace }),
    {
      timeoutMs: 20_000,
      everyMs: 100,
    },
  );

  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "crasher" },
      spec: {
        containers: [{ name: "main", image: "node:24", command: ["node", "-e", "process.exit(3)"] }],
      },
    },
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "unpullable" },
      spec: { containers: [{ name: "main", image: "registry.example/nothing:1" }] },
    },
  });

  const crashed = await waitFor(
    "the crashing container to be reported",
    async () => {
      const pod = await core.readNamespacedPod({ name: "crasher", namespace });
      const status = pod.status?.containerStatuses?.[0];
      return (status?.restartCount ?? 0) > 0 ? status : undefined;
    },
    { timeoutMs: 20_000, everyMs: 100 },
  );
  t.equal(crashed?.ready, false);
  t.equal(crashed?.lastState?.terminated?.exitCode, 3);
  t.ok(
    crashed?.state?.waiting?.reason === "CrashLoopBackOff" || crashed?.state?.running,
    "backing off, or running again after the back-off",
  );

  const unpullable = await waitFor(
    "the image-only container to be reported",
    async () => {
      const pod = await core.readNamespacedPod({ name: "unpullable", namespace });
      return pod.status?.containerStatuses?.[0]?.state?.waiting ? pod : undefined;
    },
    { timeoutMs: 20_000, everyMs: 100 },
  );
  const waiting = unpullable.status?.containerStatuses?.[0].state?.waiting;
  t.equal(waiting?.reason, "ErrImagePull");
  t.match(waiting?.message, /registry\.example\/nothing:1/);
  t.equal(unpullable.status?.phase, "Pending");
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

t.test("a pod reaches the API server with its own ServiceAccount's token", { skip }, async (t) => {
  const cp = await startControlPlane(t);
  const node = await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const rbac = cp.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  const namespace = "default";
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "pod-reader" } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: "pod-reader" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: "pod-reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
      subjects: [{ kind: "ServiceAccount", name: "pod-reader", namespace }],
    },
  });
  // In-cluster configuration, as the platform's components will load it: the Service host and
  // port from the environment, the token and CA from the service-account volume.
  const script = `
    import * as k8s from "@kubernetes/client-node";
    const kc = new k8s.KubeConfig();
    kc.loadFromCluster();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const me = await core.readNamespacedPod({ name: process.env.POD_NAME, namespace: "default" });
    console.log("read myself: " + me.metadata.name + " as " + me.spec.serviceAccountName);
    try {
      await core.listNamespacedSecret({ namespace: "default" });
      console.log("listed secrets");
    } catch (error) {
      console.log("secrets: " + error.code);
    }
    setInterval(() => {}, 1000);
  `;
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "in-cluster" },
      spec: {
        serviceAccountName: "pod-reader",
        containers: [
          {
            name: "main",
            image: "node:24",
            command: ["node", "--input-type=module", "-e", script],
            env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          },
        ],
      },
    },
  });
  const logs = await waitFor(
    "the pod to report what its token may do",
    () => {
      const out = node.logs(namespace, "in-cluster");
      return /secrets: |listed secrets|Error/.test(out) ? out : undefined;
    },
    { timeoutMs: 20_000 },
  );
  t.match(logs, /read myself: in-cluster as pod-reader/, "get pods is allowed by its Role");
  t.match(logs, /secrets: 403/, "list secrets is not");
});
