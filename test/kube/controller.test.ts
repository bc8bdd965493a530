// The autoscaler in Kubernetes mode (SLUICE_PLATFORM=kubernetes) against a real control plane,
// with the test node running the revisions' pods, and this checkout's router and activator in
// front: a Service applied to the cluster is answered through the router, scales to zero and
// back from zero, moves traffic on a split, shows an unstartable container's reason in its status
// and in the 503, and leaves nothing behind when deleted. Two autoscalers elect one leader; when
// it is killed, the other takes over and the router keeps routing.
import { type AddressInfo, connect, createServer } from "node:net";
import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { request } from "undici";
import { type AutoscalerHandle, startAutoscaler } from "../helpers/autoscaler.ts";
import { startActivator } from "../helpers/data-plane.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import {
  appContainer,
  crashingContainer,
  readyCondition,
  type ServiceObject,
  serviceObject,
} from "../helpers/kube/knative-service.ts";
import { installSluiceCrds, SLUICE_GROUP } from "../helpers/kube/sluice-crds.ts";
import { skipUnlessPodNetwork, startTestNode } from "../helpers/kube/test-node.ts";
import { waitFor } from "../helpers/processes.ts";
import { startRouter } from "../helpers/router.ts";

const skip = (await skipUnlessControlPlane(t)) || skipUnlessPodNetwork();
// A control plane, two autoscalers, a leader's death and an API server restart: its own test
// allows 240 s, more than tap's 120 s per file (which a busy CI run once hit).
t.setTimeout(300_000);
const namespace = "default";

/** The autoscaler that answers ready: the one holding the Lease. */
async function leaderOf(handles: AutoscalerHandle[]): Promise<AutoscalerHandle | undefined> {
  for (const handle of handles) {
    try {
      if ((await request(`${handle.url}/readyz`)).statusCode === 200) return handle;
    } catch {}
  }
  return undefined;
}

t.test("the autoscaler as the cluster's controller", { skip, timeout: 240_000 }, async (t) => {
  const whole = t;
  const cp = await startControlPlane(t);
  await installSluiceCrds(cp, namespace);
  const node = await startTestNode(t, cp);
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const cr = { group: SLUICE_GROUP, version: "v1", namespace };
  const getService = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...cr, plural: "services", name })) as ServiceObject;
  const dumpPods = () => {
    for (const pod of node.pods())
      for (const container of ["user-container", "queue-proxy"])
        t.comment(`${pod.name} ${container}: ${node.logs(pod.namespace, pod.name, container).slice(-2000)}`);
  };

  const controllerEnv = (identity: string) => ({
    SLUICE_PLATFORM: "kubernetes",
    SLUICE_KUBECONFIG: cp.kubeconfigPath,
    POD_NAMESPACE: namespace,
    POD_NAME: identity,
    SLUICE_QUEUE_PROXY_IMAGE: "ghcr.io/example/sluice:dev",
    // Short for a quick takeover, yet with a renew deadline (2/3 of it) a loaded machine meets.
    SLUICE_LEASE_DURATION_SECONDS: "8",
    AUTOSCALER_TICK_SECONDS: "0.25",
    SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
  });
  const first = await startAutoscaler(t, controllerEnv("autoscaler-a"));
  const leaderReady = (handle: AutoscalerHandle) =>
    waitFor("an autoscaler to lead", async () => (await request(`${handle.url}/readyz`)).statusCode === 200, {
      timeoutMs: 20_000,
      everyMs: 100,
    });
  await leaderReady(first);
  const second = await startAutoscaler(t, controllerEnv("autoscaler-b"));
  t.equal((await request(`${second.url}/readyz`)).statusCode, 503, "the second one stands by, not ready");

  // The router and activator reach the autoscaler through what the chart's Service is: an
  // address that leads to the ready replica (the leader), here a TCP forwarder that picks it.
  const autoscalers = [first, second];
  const autoscalerService = createServer(async (inbound) => {
    inbound.pause();
    const leader = await leaderOf(autoscalers);
    if (!leader) return inbound.destroy();
    const outbound = connect(Number(new URL(leader.url).port), "127.0.0.1");
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
    inbound.resume();
  });
  await new Promise<void>((resolve) => autoscalerService.listen(0, "127.0.0.1", resolve));
  t.teardown(() => autoscalerService.close());
  const serviceUrl = `http://127.0.0.1:${(autoscalerService.address() as AddressInfo).port}`;
  const activator = await startActivator(t, serviceUrl);
  const router = await startRouter(t, serviceUrl, { ACTIVATOR_URL: activator.url });
  const get = async (host: string) => {
    const res = await request(`${router.url}/`, { headers: { host }, headersTimeout: 30_000 });
    return { status: res.statusCode, body: await res.body.text() };
  };

  await t.test("a Service applied to the cluster is answered through the router", async (t) => {
    await custom.createNamespacedCustomObject({
      ...cr,
      plural: "services",
      body: serviceObject(namespace, "hello", [appContainer("v1")]),
    });
    const status = await waitFor(
      "hello Ready",
      async () => {
        const object = await getService("hello");
        return readyCondition(object)?.status === "True" ? object.status : undefined;
      },
      { timeoutMs: 60_000, everyMs: 200 },
    ).catch((error) => {
      dumpPods();
      throw error;
    });
    t.equal(status?.latestReadyRevisionName, "hello-00001");
    const answer = await waitFor("hello answered", async () => {
      const res = await get("hello.default.example.com");
      return res.status === 200 ? res : undefined;
    });
    t.match(answer.body, /hello-00001/, "the app's answer");
    const secret = await core.readNamespacedSecret({ name: "sluice-hop-secret", namespace });
    t.ok(secret.data?.["hop-secret"], "the hop secret is copied into the namespace for the queue-proxy");
  });

  await t.test("it scales to zero, and a request scales it back", async (t) => {
    const replicas = () =>
      apps
        .readNamespacedDeployment({ name: "hello-00001-deployment", namespace })
        .then((d) => d.spec?.replicas);
    await waitFor("hello at zero", async () => (await replicas()) === 0 && node.pods().length === 0, {
      timeoutMs: 60_000,
      everyMs: 250,
    });
    const answer = await get("hello.default.example.com");
    t.equal(answer.status, 200, "answered from zero through the activator");
    t.ok(((await replicas()) ?? 0) >= 1, "scaled up through the scale subresource");
  });

  await t.test("a traffic split moves traffic to the new revision", async (t) => {
    // A replace carries the resourceVersion read: the API server refuses a blind overwrite.
    const current = (await getService("hello")) as unknown as { metadata: Record<string, unknown> };
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
      "v2 answers",
      async () => (await get("hello.default.example.com")).body.includes("hello-00002"),
      {
        timeoutMs: 60_000,
        everyMs: 250,
      },
    );
    // The status follows the Revision's (written once its pod is ready), maybe a moment after.
    const status = await waitFor(
      "hello's status to name hello-00002",
      async () => {
        const object = await getService("hello");
        return object.status?.latestReadyRevisionName === "hello-00002" ? object : undefined;
      },
      { timeoutMs: 20_000, everyMs: 100 },
    );
    t.equal(status.status?.latestReadyRevisionName, "hello-00002");
    t.same(
      status.status?.traffic?.map((entry) => [entry.revisionName, entry.percent]),
      [["hello-00002", 100]],
    );
  });

  await t.test("an hpa-class Service gets an HPA; its Deployment's scale is left to it", async (t) => {
    const body = serviceObject(namespace, "cpu-bound", [appContainer("v1")]);
    body.spec.template.metadata.annotations = {
      "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
      "autoscaling.knative.dev/metric": "cpu",
      "autoscaling.knative.dev/target": "60",
    } as unknown as typeof body.spec.template.metadata.annotations;
    await custom.createNamespacedCustomObject({ ...cr, plural: "services", body });
    const autoscaling = cp.kubeConfig.makeApiClient(k8s.AutoscalingV2Api);
    const hpa = await waitFor(
      "the HPA",
      () => autoscaling.readNamespacedHorizontalPodAutoscaler({ name: "cpu-bound-00001", namespace }),
      { timeoutMs: 30_000, everyMs: 250 },
    );
    t.equal(hpa.spec?.scaleTargetRef.name, "cpu-bound-00001-deployment");
    t.equal(hpa.spec?.metrics?.[0]?.resource?.name, "cpu");
    // What an HPA decides, played by hand (no metrics API here): the controller must not undo it.
    await apps.patchNamespacedDeploymentScale(
      { name: "cpu-bound-00001-deployment", namespace, body: { spec: { replicas: 2 } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      "cpu-bound answered by 2 ready pods",
      async () =>
        node.pods().filter((pod) => pod.name.startsWith("cpu-bound-")).length === 2 &&
        (await get("cpu-bound.default.example.com")).status === 200,
      { timeoutMs: 60_000, everyMs: 250 },
    );
    // The controller has seen both pods (its published state lists them: ticks ran since).
    await waitFor(
      "both pods in the routing state",
      async () =>
        (await (await leaderOf(autoscalers))?.state())?.revisions["default/cpu-bound-00001"]?.endpoints
          .length === 2,
      { timeoutMs: 20_000, everyMs: 250 },
    );
    const deployment = await apps.readNamespacedDeployment({ name: "cpu-bound-00001-deployment", namespace });
    t.equal(deployment.spec?.replicas, 2, "the autoscaler left the HPA's scale alone");
  });

  await t.test("an unstartable container's reason is in the status and the 503", async (t) => {
    await custom.createNamespacedCustomObject({
      ...cr,
      plural: "services",
      body: serviceObject(namespace, "broken", [crashingContainer("no config")]),
    });
    const condition = await waitFor(
      "broken failed",
      async () => {
        const c = readyCondition(await getService("broken"));
        return c?.status === "False" ? c : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    t.comment(`Ready=False ${condition.reason}: ${condition.message}`);
    t.match(condition.message ?? "", /CrashLoopBackOff|exit/i, "the status names the pod's reason");
    let last = { status: 0, body: "" };
    const answer = await waitFor(
      "a 503 naming the reason",
      async () => {
        last = await get("broken.default.example.com");
        return last.status === 503 && /CrashLoopBackOff|exit/i.test(last.body) ? last : undefined;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    ).catch((error) => {
      t.comment(`last answer: ${last.status} ${last.body}`);
      throw error;
    });
    t.pass(`the 503 says why: ${answer.body.trim()}`);
  });

  await t.test("the leader is killed: the standby takes over, the router keeps routing", async (t) => {
    first.proc.child.kill("SIGKILL");
    await leaderReady(second);
    const res = await get("hello.default.example.com").catch((error) => {
      t.comment(`new leader:\n${second.proc.output().slice(-4000)}`);
      t.comment(`activator:\n${activator.proc.output().slice(-4000)}`);
      throw error;
    });
    t.equal(res.status, 200, "still answered");
    const state = await second.state();
    t.ok(
      Object.keys(state.revisions).some((key) => key === "default/hello-00002"),
      "the new leader publishes the cluster's services",
    );
    // What the autoscaler's Deployment does next: a replacement for the killed pod, standing by.
    // (Started on the whole test's lifetime, not this step's: it must outlive the step.)
    autoscalers.push(await startAutoscaler(whole, controllerEnv("autoscaler-c")));
  });

  await t.test("the watch survives an API server restart", async (t) => {
    await cp.restartApiServer();
    // A leader that cannot renew within its deadline while the API server is away exits (to come
    // back as a candidate, restarted by its Deployment): the standby started above takes over.
    await custom.createNamespacedCustomObject({
      ...cr,
      plural: "services",
      body: serviceObject(namespace, "after-restart", [appContainer("v1")]),
    });
    const answer = await waitFor(
      "after-restart answered",
      async () => {
        const res = await get("after-restart.default.example.com");
        return res.status === 200 ? res : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    ).catch(async (error) => {
      for (const handle of autoscalers) t.comment(`autoscaler:\n${handle.proc.output().slice(-3000)}`);
      throw error;
    });
    t.match(answer.body, /after-restart-00001/, "a Service made after the restart is seen and served");
  });

  await t.test("deleting a Service removes everything it made", async (t) => {
    await custom.deleteNamespacedCustomObject({ ...cr, plural: "services", name: "hello" });
    await waitFor(
      "hello's objects gone",
      async () => {
        const revisions = (await custom.listNamespacedCustomObject({ ...cr, plural: "revisions" })) as {
          items: { metadata: { name: string } }[];
        };
        const deployments = await apps.listNamespacedDeployment({ namespace });
        return (
          !revisions.items.some((r) => r.metadata.name.startsWith("hello-")) &&
          !deployments.items.some((d) => d.metadata?.name?.startsWith("hello-"))
        );
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    t.pass("Revisions and Deployments are gone (owner references)");
  });
});
