// The controller validates what is applied against the services already running: a tag host that
// is another service's host is refused, naming both, and nothing changes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import t from "tap";
import { loadConfig } from "../../autoscaler/config.ts";
import { Controller } from "../../autoscaler/controller.ts";
import { AutoscalerMetrics } from "../../autoscaler/metrics.ts";
import { StatePublisher } from "../../autoscaler/state-publisher.ts";
import { RevisionStore } from "../../serving/revision-store.ts";
import { IdlePlatform } from "../helpers/idle-platform.ts";

function service(name: string, namespace = "default", tag?: string): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - command: ["node", "app.ts"]
${tag ? `  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: ${tag}\n` : ""}`;
}

t.test("apply refuses a host another running service has", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-apply-hosts-"));
  const store = new RevisionStore(dir);
  const publisher = new StatePublisher("example.com");
  t.teardown(() => {
    publisher.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const controller = new Controller({
    config: loadConfig({ SLUICE_STATE_DIR: dir }),
    platform: new IdlePlatform(),
    store,
    publisher,
    metrics: new AutoscalerMetrics(new Registry()),
    log: pino({ level: "silent" }),
  });
  await controller.restore();

  const first = controller.apply(service("a", "x", "b"), "a.yaml");
  t.ok(first.ok, first.problems.join("\n"));

  const clash = controller.apply(service("b-a", "x"), "b-a.yaml");
  t.notOk(clash.ok);
  t.same(clash.problems, [
    "b-a.yaml:4:9: metadata.name: service x/b-a would answer on host b-a.x, already the host of tag b of service x/a (running)",
  ]);
  t.same(
    controller.services().map((s) => s.manifest.metadata.name),
    ["a"],
    "nothing applied",
  );

  // Outside the default namespace there is no bare host (the same name in two namespaces does not
  // collide on hosts; see controller-revision-identity.test.ts for its revisions).
  const staging = controller.apply(service("hello", "staging"), "h.yaml");
  t.ok(staging.ok, staging.problems.join("\n"));
  controller.publish();
  t.same(publisher.state.services["staging/hello"]?.hosts, ["hello.staging.example.com", "hello.staging"]);
  t.same(publisher.state.services["x/a"]?.tags.b?.hosts, ["b-a.x.example.com", "b-a.x"]);

  // Re-applying a without its tag frees b-a.x.
  t.ok(controller.apply(service("a", "x"), "a.yaml").ok);
  t.ok(controller.apply(service("b-a", "x"), "b-a.yaml").ok);
});
