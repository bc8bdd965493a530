// The eventing controller in-process against a real kube-apiserver (the chart's CRDs, rendered by
// helm): level-triggered and idempotent — a status changed by hand is put back, a sync with nothing
// changed writes nothing and applies nothing, a new resource applies again; the first sync waits
// for every kind's list, so it never serves a partial set; an apply that fails is retried; without
// its CRDs it is not ready and logs why, and carries on once they are installed.
import * as k8s from "@kubernetes/client-node";
import pino from "pino";
import t from "tap";
import { Agent, request } from "undici";
import { createLogger } from "../../common/log.ts";
import { EventingController } from "../../eventing/kubernetes/controller.ts";
import { EVENTING_KINDS } from "../../eventing/kubernetes/kinds.ts";
import type { ClusterResources } from "../../eventing/kubernetes/resource-set.ts";
import { helmSkip, ofKind, render } from "../charts/chart.ts";
import { skipUnlessControlPlane, startControlPlane } from "../helpers/kube/control-plane.ts";
import { waitFor } from "../helpers/processes.ts";

const skip = (await skipUnlessControlPlane(t)) || helmSkip();
const NS = "default";

t.test("the eventing controller against a real API server", { skip, timeout: 120_000 }, async (t) => {
  const cp = await startControlPlane(t, { controllerManager: false });
  const agent = new Agent({ connect: { ca: cp.caPem } });
  t.teardown(() => agent.close());

  // Before the CRDs exist: not synced, and the log says why; it carries on once they are there.
  const lines: string[] = [];
  const early = new EventingController({
    kubeConfig: cp.kubeConfig,
    resolve: { routerUrl: "http://router:80", domain: "example.com" },
    ingressUrl: "http://ev.sluice.svc.cluster.local",
    apply: async () => true,
    log: pino({ level: "warn" }, { write: (line: string) => lines.push(line) }),
    informer: { backoff: { baseMs: 50, maxMs: 200 } },
  });
  const earlyStarted = early.start();
  t.teardown(() => early.stop());
  await waitFor(
    "the missing CRDs logged",
    () => lines.some((l) => l.includes("cannot list or watch Brokers")),
    {
      timeoutMs: 15_000,
    },
  );
  t.match(
    lines.find((l) => l.includes("Brokers")),
    /404: the Eventing CRDs are not installed, see the chart's eventing\.enabled/,
  );
  t.notOk(early.synced, "not synced (not ready) without its CRDs");
  // Raw POSTs: client-node's typed CRD client drops the x-kubernetes-* schema fields.
  for (const crd of ofKind(
    render({ "eventing.enabled": true, "eventing.natsUrl": "nats://n:4222" }),
    "CustomResourceDefinition",
  )) {
    const res = await request(`${cp.server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: `Bearer ${cp.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(crd),
    });
    t.equal(res.statusCode, 201, `${crd.metadata.name}: ${await res.body.text()}`.slice(0, 200));
  }
  await earlyStarted;
  t.ok(early.synced, "synced once the CRDs are there");
  await early.stop();
  const custom = cp.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const brokers = { group: "eventing.knative.dev", version: "v1", namespace: NS, plural: "brokers" };
  const triggers = { ...brokers, plural: "triggers" };
  for (const kind of EVENTING_KINDS)
    await waitFor(
      `${kind.plural}.${kind.group} served`,
      () => custom.listClusterCustomObject(kind).then(() => true),
      { timeoutMs: 30_000, everyMs: 100 },
    );
  // Created before the controller starts: its first sync must see both (no "no Broker" on the way).
  await custom.createNamespacedCustomObject({
    ...brokers,
    body: { apiVersion: "eventing.knative.dev/v1", kind: "Broker", metadata: { name: "default" } },
  });
  await custom.createNamespacedCustomObject({
    ...triggers,
    body: {
      apiVersion: "eventing.knative.dev/v1",
      kind: "Trigger",
      metadata: { name: "t1" },
      spec: { broker: "default", subscriber: { uri: "http://sink.example/" } },
    },
  });

  const applied: ClusterResources[] = [];
  let failNext = 0;
  const controller = new EventingController({
    kubeConfig: cp.kubeConfig,
    resolve: { routerUrl: "http://router:80", domain: "example.com" },
    ingressUrl: "http://ev.sluice.svc.cluster.local",
    apply: async (resources) => {
      if (failNext > 0) {
        failNext--;
        throw new Error("NATS away (test)");
      }
      applied.push(resources);
      return true;
    },
    log: createLogger("eventing-test", "warn"),
    retry: { baseMs: 50, maxMs: 200 },
  });
  t.teardown(() => controller.stop());
  await controller.start();

  t.equal(applied.length, 1, "the first sync applied once");
  t.ok(controller.synced, "synced (ready)");
  t.same([...applied[0].set.brokers.keys()], ["default/default"]);
  t.same(
    applied[0].set.triggers.map((x) => x.name),
    ["t1"],
    "the Trigger is served with its Broker: every list was in before the first sync",
  );
  const ready = async (plural: string, name: string) => {
    const object = (await custom.getNamespacedCustomObject({ ...brokers, plural, name })) as {
      status?: { conditions?: { type: string; status: string; reason?: string }[] };
    };
    return object.status?.conditions?.find((c) => c.type === "Ready");
  };
  t.equal((await ready("triggers", "t1"))?.status, "True");
  t.equal(controller.writer.writes, 2, "two statuses written");

  await t.test("a status changed by hand is put back; then nothing is written", async (t) => {
    const broker = (await custom.getNamespacedCustomObject({ ...brokers, name: "default" })) as Record<
      string,
      unknown
    >;
    await custom.replaceNamespacedCustomObjectStatus({
      ...brokers,
      name: "default",
      body: { ...broker, status: { conditions: [{ type: "Ready", status: "False", reason: "ByHand" }] } },
    });
    // The API server shows the put-back status before the controller has counted its write's answer.
    await waitFor(
      "Ready put back",
      async () => controller.writer.writes >= 3 && (await ready("brokers", "default"))?.status === "True",
      { timeoutMs: 15_000 },
    );
    t.equal(controller.writer.writes, 3, "one write put it back");
    // Our own write comes back as a watch event; that sync, and one more, find nothing to do.
    const syncs = controller.syncs;
    controller.resync();
    await waitFor("a sync after the put-back", () => controller.syncs > syncs, { timeoutMs: 15_000 });
    t.equal(controller.writer.writes, 3, "a sync with nothing changed writes nothing");
    t.equal(applied.length, 1, "and applies nothing (the resources did not change)");
  });

  await t.test("a changed resource applies again; a failed apply is retried", async (t) => {
    failNext = 2;
    await custom.createNamespacedCustomObject({
      ...triggers,
      body: {
        apiVersion: "eventing.knative.dev/v1",
        kind: "Trigger",
        metadata: { name: "t2" },
        spec: { broker: "nope", subscriber: { uri: "http://sink.example/" } },
      },
    });
    await waitFor("applied after two failures", () => applied.length === 2, { timeoutMs: 15_000 });
    t.equal(failNext, 0, "both failures were met first");
    t.same(
      applied[1].set.triggers.map((x) => x.name),
      ["t1"],
      "the invalid Trigger is left out",
    );
    await waitFor("t2 refused", async () => (await ready("triggers", "t2"))?.reason === "InvalidSpec", {
      timeoutMs: 15_000,
    });
  });
});
