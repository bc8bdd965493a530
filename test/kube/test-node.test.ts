// The test node, the kubelet stand-in: what it does with a pod spec (the sluice image, env,
// probes, crash and image reasons, grace periods, the service-account volume), against a real
// control plane.
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
      // Past ContainerCreating, the state every container reports first.
      const reason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      return reason !== undefined && reason !== "ContainerCreating" ? pod : undefined;
    },
    { timeoutMs: 20_000, everyMs: 100 },
  );
  const waiting = unpullable.status?.containerStatuses?.[0].state?.waiting;
  t.equal(waiting?.reason, "ErrImagePull");
  t.match(waiting?.message, /registry\.example\/nothing:1/);
  t.equal(unpullable.status?.phase, "Pending");
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

t.test("readiness follows the probe, and the EndpointSlice follows readiness", { skip }, async (t) => {
  const cp = await startControlPlane(t);
  const node = await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const discovery = cp.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
  const namespace = "default";
  await waitFor(
    "the default ServiceAccount",
    () => core.readNamespacedServiceAccount({ name: "default", namespace }),
    {
      timeoutMs: 20_000,
      everyMs: 100,
    },
  );
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: "s" }, stringData: { TOKEN: "t0ps3cret" } },
  });
  // Listens on all addresses (no forwarder needed); /fail makes its readiness endpoint fail.
  const script = `
    import { createServer } from "node:http";
    let failing = false;
    createServer((req, res) => {
      if (req.url === "/fail") failing = true;
      if (req.url === "/healthz") res.statusCode = failing ? 503 : 200;
      res.end(JSON.stringify({ greeting: process.env.GREETING, token: process.env.APP_TOKEN }));
    }).listen(Number(process.env.PORT));
  `;
  const labels = { app: "flaky" };
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: "flaky" },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 9000 }] },
    },
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: "flaky", labels },
      spec: {
        containers: [
          {
            name: "main",
            image: "node:24",
            command: ["node", "--input-type=module", "-e", script],
            envFrom: [{ secretRef: { name: "s" }, prefix: "APP_" }],
            env: [
              { name: "PORT", value: "9000" },
              { name: "WHO", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "GREETING", value: "hello $(WHO)" },
            ],
            readinessProbe: { httpGet: { path: "/healthz", port: 9000 }, failureThreshold: 1 },
          },
        ],
      },
    },
  });
  const readyEndpoint = (want: boolean) => async () => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace,
      labelSelector: "kubernetes.io/service-name=flaky",
    });
    return slices.items.some((s) => (s.endpoints ?? []).some((e) => e.conditions?.ready === want));
  };
  await waitFor("a ready endpoint", readyEndpoint(true), { timeoutMs: 20_000, everyMs: 100 });
  const [pod] = node.pods();
  const body = (await (await fetch(`http://${pod.ip}:9000/`)).json()) as Record<string, string>;
  t.same(
    body,
    { greeting: "hello flaky", token: "t0ps3cret" },
    "envFrom a Secret with a prefix, and $(VAR) expansion",
  );

  await fetch(`http://${pod.ip}:9000/fail`);
  await waitFor("the endpoint to turn unready", readyEndpoint(false), { timeoutMs: 20_000, everyMs: 100 });
  const status = (await core.readNamespacedPod({ name: "flaky", namespace })).status;
  t.equal(status?.conditions?.find((c) => c.type === "Ready")?.status, "False", "the pod is not Ready");
  t.equal(status?.phase, "Running", "but still running");
});
