import t from "tap";
import { revisionHpa } from "../../../platform/kubernetes/hpa.ts";
import { loadManifests } from "../../../serving/load.ts";
import { type Revision, revisionFor } from "../../../serving/revisions.ts";

function revisionWith(annotations: Record<string, string>): Revision {
  const lines = Object.entries(annotations).map(([k, v]) => `        ${k}: "${v}"`);
  const yaml = [
    "apiVersion: serving.knative.dev/v1",
    "kind: Service",
    "metadata:",
    "  name: api",
    "  namespace: team",
    "spec:",
    "  template:",
    ...(lines.length > 0 ? ["    metadata:", "      annotations:", ...lines] : []),
    "    spec:",
    "      containers:",
    "        - image: api:1",
  ].join("\n");
  const { services, problems } = loadManifests(yaml, "s.yaml");
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  const result = revisionFor(services[0].manifest, [], 0);
  if ("error" in result) throw new Error(result.error);
  return result.revision;
}

const HPA = "hpa.autoscaling.knative.dev";

t.test("no HPA for the kpa class", async (t) => {
  t.equal(revisionHpa(revisionWith({}), "uid"), undefined);
  t.equal(revisionHpa(revisionWith({ "autoscaling.knative.dev/metric": "rps" }), "uid"), undefined);
});

t.test("cpu: target is the average utilization; min and max scale bound it", async (t) => {
  const hpa = revisionHpa(
    revisionWith({
      "autoscaling.knative.dev/class": HPA,
      "autoscaling.knative.dev/metric": "cpu",
      "autoscaling.knative.dev/target": "65",
      "autoscaling.knative.dev/min-scale": "2",
      "autoscaling.knative.dev/max-scale": "10",
    }),
    "rev-uid",
  );
  t.equal(hpa?.apiVersion, "autoscaling/v2");
  t.equal(hpa?.metadata?.name, "api-00001");
  t.equal(hpa?.metadata?.namespace, "team");
  t.same(hpa?.spec?.scaleTargetRef, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "api-00001-deployment",
  });
  t.equal(hpa?.spec?.minReplicas, 2);
  t.equal(hpa?.spec?.maxReplicas, 10);
  t.same(hpa?.spec?.metrics, [
    { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 65 } } },
  ]);
  t.equal(hpa?.spec?.behavior, undefined, "no window annotation: the HPA's own behaviour");
  t.match(hpa?.metadata?.ownerReferences, [
    { kind: "Revision", name: "api-00001", uid: "rev-uid", controller: true },
  ]);
  t.equal(hpa?.metadata?.labels?.["serving.sluice.dev/revision"], "api-00001");
});

t.test("memory: target in MiB as the average value; window; at least one replica", async (t) => {
  const hpa = revisionHpa(
    revisionWith({
      "autoscaling.knative.dev/class": HPA,
      "autoscaling.knative.dev/metric": "memory",
      "autoscaling.knative.dev/target": "200",
      "autoscaling.knative.dev/window": "2m",
    }),
    "rev-uid",
  );
  t.same(hpa?.spec?.metrics, [
    {
      type: "Resource",
      resource: { name: "memory", target: { type: "AverageValue", averageValue: "200Mi" } },
    },
  ]);
  t.equal(hpa?.spec?.minReplicas, 1, "an HPA cannot scale to zero");
  t.equal(hpa?.spec?.maxReplicas, 2_147_483_647, "max-scale 0 is unbounded");
  t.same(hpa?.spec?.behavior, {
    scaleDown: { stabilizationWindowSeconds: 120 },
    scaleUp: { stabilizationWindowSeconds: 120 },
  });
});

t.test("defaults and the schedule's minimum", async (t) => {
  const revision = revisionWith({ "autoscaling.knative.dev/class": HPA });
  const hpa = revisionHpa(revision, "uid");
  t.same(hpa?.spec?.metrics?.[0].resource, {
    name: "cpu",
    target: { type: "Utilization", averageUtilization: 80 },
  });
  t.equal(revisionHpa(revision, "uid", "serving.sluice.dev", 4)?.spec?.minReplicas, 4);
  const memory = revisionHpa(
    revisionWith({ "autoscaling.knative.dev/class": HPA, "autoscaling.knative.dev/metric": "memory" }),
    "uid",
  );
  t.same(memory?.spec?.metrics?.[0].resource, {
    name: "memory",
    target: { type: "Utilization", averageUtilization: 80 },
  });
});
