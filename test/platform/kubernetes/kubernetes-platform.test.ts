// The platform interface over a cluster's caches: pods from EndpointSlices, failure from the
// Revision's status, scale recorded and handed to the reconciler, a restart starting from the
// Deployment's replicas.
import type { V1EndpointSlice } from "@kubernetes/client-node";
import t from "tap";
import type { KubeClient, RevisionCR } from "../../../platform/kubernetes/kube-client.ts";
import { type ClusterView, KubernetesPlatform } from "../../../platform/kubernetes/kubernetes-platform.ts";
import { appTemplate } from "../../helpers/platform.ts";

function slice(service: string, endpoints: { pod: string; ip: string; ready: boolean }[]): V1EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: { namespace: "default", labels: { "kubernetes.io/service-name": service } },
    ports: [
      { name: "queue-serving", port: 8012 },
      { name: "queue-admin", port: 8022 },
    ],
    endpoints: endpoints.map(({ pod, ip, ready }) => ({
      addresses: [ip],
      conditions: { ready },
      targetRef: { kind: "Pod", name: pod },
    })),
  };
}

function setUp(replicas: number | undefined, revision?: RevisionCR) {
  const deleted: string[] = [];
  const reconciled: string[] = [];
  const slices: V1EndpointSlice[] = [];
  const view: ClusterView = {
    revision: () => revision,
    slices: (_namespace, service) =>
      slices.filter((s) => s.metadata?.labels?.["kubernetes.io/service-name"] === service),
    replicas: () => replicas,
  };
  const client = {
    deleteRevision: async (namespace: string, name: string) => void deleted.push(`${namespace}/${name}`),
  } as unknown as KubeClient;
  const platform = new KubernetesPlatform(client, view, (key) => reconciled.push(key));
  return { platform, slices, deleted, reconciled };
}

t.test("pods are what the revision's EndpointSlices list; scale goes to the reconciler", async (t) => {
  const { platform, slices, reconciled } = setUp(undefined);
  t.equal(platform.revision("default/hello-00001"), undefined, "unknown until ensured");
  t.equal(platform.desired("default/hello-00001"), undefined);
  platform.ensureRevision(appTemplate("hello-00001"));
  t.same(platform.revision("default/hello-00001"), {
    key: "default/hello-00001",
    desired: 0,
    pods: [],
    failure: undefined,
  });

  slices.push(
    slice("hello-00001-private", [
      { pod: "hello-00001-deployment-a", ip: "10.1.0.5", ready: true },
      { pod: "hello-00001-deployment-b", ip: "10.1.0.6", ready: false },
    ]),
  );
  const pods = platform.revision("default/hello-00001")?.pods ?? [];
  t.same(
    pods.map((pod) => [pod.name, pod.phase, pod.url, pod.adminUrl]),
    [
      ["hello-00001-deployment-a", "ready", "http://10.1.0.5:8012", "http://10.1.0.5:8022"],
      ["hello-00001-deployment-b", "starting", "http://10.1.0.6:8012", "http://10.1.0.6:8022"],
    ],
  );

  const changed: string[] = [];
  platform.onChange((key) => changed.push(key));
  platform.changed("default/hello-00001");
  platform.changed("default/unknown-00001");
  t.same(changed, ["default/hello-00001"], "listeners hear of the revisions it runs only");

  t.same(reconciled, ["default/hello-00001"], "a revision made known is reconciled (its Deployment made)");
  platform.scale("default/hello-00001", 3);
  platform.scale("default/hello-00001", 3);
  t.same(
    reconciled,
    ["default/hello-00001", "default/hello-00001"],
    "a new scale asks for one reconcile; the same again none",
  );
  t.equal(platform.desired("default/hello-00001"), 3);
});

t.test("a restarted autoscaler starts from the Deployment's replicas", async (t) => {
  const { platform } = setUp(4);
  platform.ensureRevision(appTemplate("hello-00001"));
  t.equal(platform.desired("default/hello-00001"), 4);
});

t.test("a failed Revision's status is the platform's failure (the activator's 503 says it)", async (t) => {
  const revision = {
    metadata: { name: "hello-00001", namespace: "default" },
    status: {
      conditions: [
        {
          type: "ContainerHealthy",
          status: "False",
          reason: "CrashLoopBackOff",
          message: "exited with code 3",
        },
        { type: "Ready", status: "False", reason: "CrashLoopBackOff", message: "exited with code 3" },
      ],
    },
  } as unknown as RevisionCR;
  const { platform } = setUp(undefined, revision);
  platform.ensureRevision(appTemplate("hello-00001"));
  t.same(platform.revision("default/hello-00001")?.failure, {
    reason: "CrashLoopBackOff",
    logs: ["exited with code 3"],
  });
});

t.test("deleteRevision deletes the Revision object and forgets it", async (t) => {
  const { platform, deleted } = setUp(undefined);
  platform.ensureRevision(appTemplate("hello-00001"));
  await platform.deleteRevision("default/hello-00001");
  await platform.deleteRevision("default/hello-00001");
  t.same(deleted, ["default/hello-00001"], "once");
  t.equal(platform.revision("default/hello-00001"), undefined);
});
