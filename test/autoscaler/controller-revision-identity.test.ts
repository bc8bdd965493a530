// Revision names are unique within a namespace only (Knative's {service}-{n}): the same service
// name in two namespaces has two hello-00001s, and a name two things in one namespace would share
// is refused (400 with the name), never an error from the store.
import t from "tap";
import { startController } from "../helpers/controller.ts";
import { tempStateDir } from "../helpers/platform.ts";
import { serviceYaml } from "../helpers/service-yaml.ts";

function service(
  name: string,
  namespace: string,
  { version = "v1", revisionName }: { version?: string; revisionName?: string } = {},
) {
  return serviceYaml(name, {
    namespace,
    revisionName,
    annotations: ['autoscaling.knative.dev/initial-scale: "0"'],
    env: { VERSION: version },
  });
}

t.test("the same service in two namespaces: two hello-00001s, each its own", async (t) => {
  const dir = tempStateDir(t, "sluice-identity-");
  const { controller, publisher, platform } = await startController(t, dir);

  const applied = controller.apply(
    `${service("hello", "default")}---\n${service("hello", "staging", { version: "v9" })}`,
    "hello.yaml",
  );
  t.ok(applied.ok, applied.problems.join("\n"));
  t.same(
    applied.applied.map((a) => `${a.namespace}/${a.revision}`),
    ["default/hello-00001", "staging/hello-00001"],
  );
  controller.publish();
  t.same(Object.keys(publisher.state.revisions).sort(), ["default/hello-00001", "staging/hello-00001"]);
  t.equal(publisher.state.revisions["staging/hello-00001"].namespace, "staging");
  t.same([...platform.revisions.keys()].sort(), ["default/hello-00001", "staging/hello-00001"]);
  t.same(Object.keys(controller.revisionDetails()).sort(), ["default/hello-00001", "staging/hello-00001"]);

  // Activator pushes name the namespace: each reaches its own revision.
  const unknown = controller.activatorStats({
    activator: "a",
    revisions: [
      {
        namespace: "staging",
        revision: "hello-00001",
        averageConcurrency: 1,
        requestCount: 1,
        windowSeconds: 0,
        poke: true,
      },
      {
        namespace: "prod",
        revision: "hello-00001",
        averageConcurrency: 1,
        requestCount: 1,
        windowSeconds: 0,
      },
    ],
  });
  t.same(unknown, ["prod/hello-00001"]);
  t.equal(platform.revision("staging/hello-00001")?.desired, 1, "the poke scaled staging's");
  t.equal(platform.revision("default/hello-00001")?.desired, 0, "and not default's");

  // A restart restores both histories; numbering continues per namespace.
  const again = await startController(t, dir);
  const next = again.controller.apply(service("hello", "staging", { version: "v10" }), "hello.yaml");
  t.same(
    next.applied.map((a) => `${a.namespace}/${a.revision}`),
    ["staging/hello-00002"],
  );
  t.same(
    again.controller.services().map((s) => `${s.manifest.metadata.namespace}: ${s.revisions.join(", ")}`),
    ["default: hello-00001", "staging: hello-00001, hello-00002"],
  );
});

t.test("a revision name another service of the namespace has is a 400 naming it", async (t) => {
  const { controller } = await startController(t, tempStateDir(t, "sluice-identity-"));

  // hello names its revision hello-world-00001 (Knative allows any {service}- prefix)…
  t.ok(controller.apply(service("hello", "default", { revisionName: "hello-world-00001" }), "a.yaml").ok);
  // …which is the name hello-world's first revision would get.
  const clash = controller.apply(service("hello-world", "default"), "b.yaml");
  t.notOk(clash.ok);
  t.same(clash.problems, [
    "b.yaml:1: spec.template.metadata.name: revision default/hello-world-00001 already belongs to service default/hello; choose another name",
  ]);
  t.same(
    controller.services().map((s) => s.manifest.metadata.name),
    ["hello"],
    "nothing applied",
  );
  // In another namespace the name is free.
  t.ok(controller.apply(service("hello-world", "staging"), "b.yaml").ok);

  // Within one apply too.
  const both = controller.apply(
    `${service("x", "batch", { revisionName: "x-y-00001" })}---\n${service("x-y", "batch")}`,
    "c.yaml",
  );
  t.notOk(both.ok);
  t.match(both.problems, [/revision batch\/x-y-00001 already belongs to service batch\/x;/]);
});
