// SinkBinding on Kubernetes: the autoscaler (the cluster's controller, a real process) running as
// the chart's autoscaler ServiceAccount (installed by a real helm with eventing.enabled, so its
// RBAC is the chart's) against a real kube-apiserver: a SinkBinding whose subject is a Service
// puts K_SINK into that revision's Deployment's user container; changing the binding's sink
// changes it (a Service sink: its host, and K_SINK_ROUTER; ceOverrides: K_CE_OVERRIDES); deleting
// the binding takes it out. A K_SINK the manifest sets is replaced while bound, back after.

import * as k8s from "@kubernetes/client-node";
import t from "tap";
import { request } from "undici";
import { helmSkip, NAMESPACE, RELEASE } from "../charts/chart.ts";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { installChartWithEventing } from "../helpers/kube/eventing-chart.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || helmSkip();

const AUTOSCALER = `${RELEASE}-sluice-autoscaler`;
const INGRESS_URL = `http://${RELEASE}-sluice-eventing.${NAMESPACE}.svc.cluster.local`;
const ROUTER_URL = `http://${RELEASE}-sluice-router.${NAMESPACE}.svc.cluster.local:80`;
const NS = "demo";
const SOURCES = { group: "sources.knative.dev", version: "v1", namespace: NS, plural: "sinkbindings" };

// Its test allows 240 s: the file gets that and time for its setup, whatever .taprc's bound.
t.setTimeout(270_000);
t.test(
  "SinkBinding: K_SINK in a bound Service's revision Deployment",
  { skip, timeout: 240_000 },
  async (t) => {
    const cp = await startControlPlane(t, { controllerManager: false });
    const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    await installChartWithEventing(t, cp, [
      ["sources.knative.dev", "v1", "sinkbindings"],
      ["serving.sluice.dev", "v1", "services"],
    ]);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const token = await cp.serviceAccountToken(NAMESPACE, AUTOSCALER);
    const autoscaler = await startAutoscaler(t, {
      SLUICE_PLATFORM: "kubernetes",
      SLUICE_KUBECONFIG: cp.writeKubeconfig(token, "autoscaler"),
      POD_NAMESPACE: NAMESPACE,
      POD_NAME: "autoscaler-a",
      SLUICE_LEASE_NAME: AUTOSCALER,
      SLUICE_QUEUE_PROXY_IMAGE: "ghcr.io/example/sluice:dev",
      SLUICE_DOMAIN: "example.com",
      // As the chart sets them with eventing.enabled.
      SLUICE_EVENTING_INGRESS_URL: INGRESS_URL,
      SLUICE_ROUTER_URL: ROUTER_URL,
    });
    await waitFor(
      "the autoscaler to lead",
      async () => (await request(`${autoscaler.url}/readyz`)).statusCode === 200,
      {
        timeoutMs: 30_000,
        everyMs: 100,
      },
    );

    await custom.createNamespacedCustomObject({
      group: "serving.sluice.dev",
      version: "v1",
      namespace: NS,
      plural: "services",
      body: {
        apiVersion: "serving.sluice.dev/v1",
        kind: "Service",
        metadata: { name: "emitter", namespace: NS },
        spec: {
          template: {
            metadata: { labels: { role: "emitter" } },
            spec: {
              containers: [
                { image: "example.com/emitter:1", env: [{ name: "K_SINK", value: "http://mine" }] },
              ],
            },
          },
        },
      },
    });
    /** The user container's environment as written in its Deployment, once that exists. */
    const envList = async () => {
      try {
        const deployment = await apps.readNamespacedDeployment({
          name: "emitter-00001-deployment",
          namespace: NS,
        });
        return deployment.spec?.template.spec?.containers.find((c) => c.name === "user-container")?.env ?? [];
      } catch {
        return undefined;
      }
    };
    const userEnv = async () => {
      const list = await envList();
      return list && Object.fromEntries(list.map((v) => [v.name, v.value]));
    };
    const until = (what: string, check: (env: Record<string, string | undefined>) => boolean) =>
      waitFor(
        what,
        async () => {
          const env = await userEnv();
          return env && check(env) ? env : undefined;
        },
        { timeoutMs: 30_000, everyMs: 100 },
      );

    const unbound = await until("the revision's Deployment", () => true);
    t.equal(unbound.K_SINK, "http://mine", "unbound: the manifest's own K_SINK");

    await t.test("a binding to a Broker: K_SINK is the eventing ingress's Broker path", async (t) => {
      await custom.createNamespacedCustomObject({
        ...SOURCES,
        body: k8s.loadYaml(`apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: bind, namespace: ${NS} }
spec:
  subject: { apiVersion: serving.knative.dev/v1, kind: Service, name: emitter }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`),
      });
      const env = await until("K_SINK injected", (env) => env.K_SINK !== "http://mine");
      t.equal(env.K_SINK, `${INGRESS_URL}/${NS}/default`);
      t.equal(env.K_SINK_ROUTER, undefined);
      t.equal(env.K_REVISION, "emitter-00001", "the rest of the environment is as before");
    });

    await t.test("changing the sink changes it: a Service sink by its host, the router beside", async (t) => {
      const current = (await custom.getNamespacedCustomObject({ ...SOURCES, name: "bind" })) as {
        spec: Record<string, unknown>;
      };
      await custom.replaceNamespacedCustomObject({
        ...SOURCES,
        name: "bind",
        body: {
          ...current,
          spec: {
            ...current.spec,
            sink: {
              ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "consumer" },
              uri: "/in",
            },
            ceOverrides: { extensions: { team: "shop" } },
          },
        },
      });
      const env = await until("K_SINK to the Service", (env) => env.K_SINK?.includes("consumer") === true);
      t.equal(env.K_SINK, `http://consumer.${NS}.example.com/in`);
      t.equal(env.K_SINK_ROUTER, `${ROUTER_URL}/in`);
      t.equal(env.K_CE_OVERRIDES, JSON.stringify({ extensions: { team: "shop" } }));
      t.equal(
        (await envList())?.filter((v) => v.name === "K_SINK").length,
        1,
        "one K_SINK: the manifest's replaced",
      );
    });

    await t.test(
      "deleting the binding takes K_SINK out; a label selector binds by the template's labels",
      async (t) => {
        await custom.createNamespacedCustomObject({
          ...SOURCES,
          body: k8s.loadYaml(`apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: elsewhere, namespace: ${NS} }
spec:
  subject: { apiVersion: serving.knative.dev/v1, kind: Service, selector: { matchLabels: { role: other } } }
  sink: { uri: http://elsewhere.example }
`),
        });
        await custom.deleteNamespacedCustomObject({ ...SOURCES, name: "bind" });
        const env = await until("K_SINK back to the manifest's", (env) => env.K_SINK === "http://mine");
        t.equal(env.K_SINK_ROUTER, undefined);
        t.equal(env.K_CE_OVERRIDES, undefined);

        const current = (await custom.getNamespacedCustomObject({ ...SOURCES, name: "elsewhere" })) as {
          spec: { subject: Record<string, unknown> };
        };
        await custom.replaceNamespacedCustomObject({
          ...SOURCES,
          name: "elsewhere",
          body: {
            ...current,
            spec: {
              ...current.spec,
              subject: { ...current.spec.subject, selector: { matchLabels: { role: "emitter" } } },
            },
          },
        });
        await until("bound by its labels", (env) => env.K_SINK === "http://elsewhere.example");
        await custom.deleteNamespacedCustomObject({ ...SOURCES, name: "elsewhere" });
        await until("unbound again", (env) => env.K_SINK === "http://mine");
        t.pass("bound and unbound by the selector");
      },
    );
  },
);
