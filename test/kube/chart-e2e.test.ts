// End to end, as a user meets sluice on Kubernetes: `helm install` of charts/sluice into a real
// control plane, whose router, activator and autoscaler then run as pods on the test node (this
// checkout standing for the image), each component with its own ServiceAccount and the chart's
// RBAC. Then, as with kubectl: a Knative-shaped Service is applied; a request through the router
// pod is answered, after scale to zero too; a traffic-split update moves traffic; a container
// that cannot start shows its reason in the Service's status and in the 503; deleting the
// Service removes every object it created.
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { request } from "undici";
import { CHART, helm, helmSkip } from "../charts/chart.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import {
  appContainer,
  crashingContainer,
  readyCondition,
  type ServiceObject,
  serviceObject,
} from "../helpers/kube/knative-service.ts";
import { SLUICE_GROUP } from "../helpers/kube/sluice-crds.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = helmSkip() || (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();
const release = "sluice";
const system = "sluice-system";
const namespace = "default";

// Its test allows 300 s: the file gets that and time for its setup (120 s cut it short in a loaded run).
t.setTimeout(330_000);
t.test("helm install, then a Service through the chart's own pods", { skip, timeout: 300_000 }, async (t) => {
  const cp = await startControlPlane(t);
  const node = await startTestNode(t, cp);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const dump = () => {
    for (const pod of node.pods())
      for (const container of ["router", "activator", "autoscaler", "user-container", "queue-proxy"]) {
        const logs = node.logs(pod.namespace, pod.name, container);
        if (logs) t.comment(`${pod.namespace}/${pod.name} ${container}:\n${logs.slice(-3000)}`);
      }
  };

  const installed = helm([
    "install",
    release,
    CHART,
    "--kubeconfig",
    cp.kubeconfigPath,
    "--namespace",
    system,
    "--create-namespace",
    "--set",
    "router.service.type=ClusterIP",
    "--set",
    "autoscaler.scaleToZeroGraceSeconds=1",
    "--set-json",
    "autoscaler.tickSeconds=0.5",
    "--set",
    "logLevel=warn",
  ]);
  t.equal(installed.status, 0, `helm install: ${installed.stderr}`);
  if (installed.status !== 0) return;

  // The three components, each a pod on the test node, ready (the router only once it has state
  // from the autoscaler, through the autoscaler's Service).
  const routerPod = await waitFor(
    "router, activator and autoscaler pods ready",
    async () => {
      const pods = (await core.listNamespacedPod({ namespace: system })).items;
      const readyPod = (component: string) =>
        pods.find(
          (pod) =>
            pod.metadata?.labels?.["app.kubernetes.io/component"] === component &&
            pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
      return readyPod("autoscaler") && readyPod("activator") ? readyPod("router") : undefined;
    },
    { timeoutMs: 90_000, everyMs: 500 },
  ).catch((error) => {
    dump();
    throw error;
  });
  const routerUrl = `http://${routerPod.status?.podIP}:8080`;
  const get = async (host: string) => {
    const res = await request(`${routerUrl}/`, { headers: { host }, headersTimeout: 30_000 });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const cr = { group: SLUICE_GROUP, version: "v1", namespace };
  const getService = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...cr, plural: "services", name })) as ServiceObject;

  await t.test("a Service applied is answered through the router", async (t) => {
    await custom.createNamespacedCustomObject({
      ...cr,
      plural: "services",
      body: serviceObject(namespace, "hello", [appContainer("v1")]),
    });
    const answer = await waitFor(
      "hello answered through the router pod",
      async () => {
        const res = await get("hello.default.example.com");
        return res.status === 200 ? res : undefined;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    ).catch((error) => {
      dump();
      throw error;
    });
    t.match(answer.body, /hello-00001/);
    const status = await waitFor(
      "hello Ready",
      async () => {
        const object = await getService("hello");
        return object.status?.conditions?.find((c) => c.type === "Ready")?.status === "True"
          ? object.status
          : undefined;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    );
    t.equal(status.url, "http://hello.default.example.com", "Knative-shaped status with the URL");
  });

  await t.test("at zero, a request scales it up again", async (t) => {
    await waitFor(
      "hello at zero",
      async () =>
        (await apps.readNamespacedDeployment({ name: "hello-00001-deployment", namespace })).spec
          ?.replicas === 0 && !node.pods().some((pod) => pod.name.startsWith("hello-")),
      { timeoutMs: 90_000, everyMs: 500 },
    );
    const answer = await get("hello.default.example.com");
    t.equal(answer.status, 200, "answered from zero (router → activator → a new pod)");
  });

  await t.test("a traffic-split update moves traffic", async (t) => {
    const current = await getService("hello");
    await custom.replaceNamespacedCustomObject({
      ...cr,
      plural: "services",
      name: "hello",
      body: {
        ...serviceObject(namespace, "hello", [appContainer("v2")], [{ latestRevision: true, percent: 100 }]),
        metadata: current.metadata,
      },
    });
    await waitFor(
      "hello-00002 answers",
      async () => (await get("hello.default.example.com")).body.includes("hello-00002"),
      {
        timeoutMs: 90_000,
        everyMs: 500,
      },
    );
    t.pass("the new revision took the traffic");
  });

  await t.test("a container that cannot start: its reason in the status and in the 503", async (t) => {
    await custom.createNamespacedCustomObject({
      ...cr,
      plural: "services",
      body: serviceObject(namespace, "broken", [crashingContainer("missing DATABASE_URL")]),
    });
    const ready = await waitFor(
      "broken Ready=False",
      async () => {
        const c = readyCondition(await getService("broken"));
        return c?.status === "False" ? c : undefined;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    t.match(ready.message ?? "", /CrashLoopBackOff|exited with code 3/, `status: ${ready.message}`);
    const answer = await waitFor(
      "a 503 naming the reason",
      async () => {
        const res = await get("broken.default.example.com");
        return res.status === 503 && /CrashLoopBackOff|exited with code 3/.test(res.body) ? res : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    t.pass(`503: ${answer.body.trim()}`);
  });

  await t.test("deleting the Services removes every object they made", async (t) => {
    for (const name of ["hello", "broken"])
      await custom.deleteNamespacedCustomObject({ ...cr, plural: "services", name });
    await waitFor(
      "revisions, deployments, services and pods gone",
      async () => {
        const revisions = (await custom.listNamespacedCustomObject({ ...cr, plural: "revisions" })) as {
          items: unknown[];
        };
        const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
        const services = (await core.listNamespacedService({ namespace })).items.filter(
          (s) => s.metadata?.name !== "kubernetes",
        );
        const pods = (await core.listNamespacedPod({ namespace })).items;
        return revisions.items.length + deployments.length + services.length + pods.length === 0;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    t.pass("nothing left in the namespace but the hop secret's copy");
  });
});
