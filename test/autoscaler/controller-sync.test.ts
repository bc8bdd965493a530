// Kubernetes mode's controller: no store; services arrive by syncService as the cluster has them.
// Revisions keep their runtime across syncs, ones gone from the cluster are dropped, a deleted
// service leaves the routing state, and apply through the API is refused with a pointer to kubectl.
import pino from "pino";
import { Registry } from "prom-client";
import t from "tap";
import { loadConfig } from "../../autoscaler/config.ts";
import { Controller } from "../../autoscaler/controller.ts";
import { AutoscalerMetrics } from "../../autoscaler/metrics.ts";
import { StatePublisher } from "../../autoscaler/state-publisher.ts";
import type { Revision } from "../../serving/revisions.ts";
import { appService } from "../helpers/autoscaler.ts";
import { IdlePlatform } from "../helpers/idle-platform.ts";
import { manifestOf } from "../helpers/revision-runtime.ts";

function revision(service: string, sequence: number, readyAt?: number): Revision & { readyAt?: number } {
  const manifest = manifestOf(service);
  return {
    name: `${service}-${String(sequence).padStart(5, "0")}`,
    service,
    namespace: "default",
    sequence,
    templateHash: `h${sequence}`,
    template: manifest.spec.template,
    createdAt: sequence,
    readyAt,
  };
}

function setUp(t: { teardown(fn: () => unknown): void }) {
  const platform = new IdlePlatform();
  const publisher = new StatePublisher("example.com");
  t.teardown(() => publisher.close());
  const controller = new Controller({
    config: loadConfig({}),
    platform,
    publisher,
    metrics: new AutoscalerMetrics(new Registry()),
    log: pino({ level: "silent" }),
  });
  return { controller, platform, publisher };
}

t.test("services come and go by syncService", async (t) => {
  const { controller, platform, publisher } = setUp(t);
  const manifest = manifestOf("hello");
  controller.syncService("default", "hello", { manifest, revisions: [revision("hello", 1, 5)] });
  t.same(publisher.state.services, {}, "nothing is published before startPublishing");
  controller.startPublishing();
  t.same(Object.keys(publisher.state.services), ["default/hello"]);
  t.same(
    [...platform.revisions.keys()],
    ["default/hello-00001"],
    "the revision is made known to the platform",
  );

  // A restarted autoscaler meets pods already running: the runtime starts from their scale.
  platform.revisions.set("default/hello-00002", { key: "default/hello-00002", desired: 3, pods: [] });
  controller.syncService("default", "hello", {
    manifest,
    revisions: [revision("hello", 1, 5), revision("hello", 2)],
  });
  const details = controller.revisionDetails();
  t.equal(details["default/hello-00002"]?.desired, 3, "starts from the pods' scale");
  t.same(controller.services()[0]?.revisions, ["hello-00001", "hello-00002"]);

  controller.syncService("default", "hello", { manifest, revisions: [revision("hello", 2)] });
  t.same(controller.services()[0]?.revisions, ["hello-00002"], "a revision gone from the cluster is dropped");
  t.notOk(platform.revisions.has("default/hello-00001"), "and forgotten by the platform");

  controller.syncService("default", "hello", undefined);
  t.same(controller.services(), [], "a deleted service is gone");
  t.same(publisher.state.services, {}, "and out of the routing state");
});

t.test("apply through the API is refused in Kubernetes mode, naming what to use", async (t) => {
  const { controller } = setUp(t);
  const result = controller.apply(appService("hello"), "hello.yaml");
  t.equal(result.ok, false);
  t.match(result.problems, [
    /Kubernetes mode: apply Services to the cluster \(kubectl apply -f, or sluice apply --kubeconfig\)/,
  ]);
});
