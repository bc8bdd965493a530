// The controller validates what is applied against the services already running: a tag host that
// is another service's host is refused, naming both, and nothing changes.
import t from "tap";
import { startController } from "../helpers/controller.ts";
import { tempStateDir } from "../helpers/platform.ts";
import { serviceYaml, taggedTraffic } from "../helpers/service-yaml.ts";

const service = (name: string, namespace = "default", tag?: string) =>
  serviceYaml(name, {
    namespace,
    annotations: ['autoscaling.knative.dev/initial-scale: "0"'],
    traffic: tag ? taggedTraffic(tag) : "",
  });

t.test("apply refuses a host another running service has", async (t) => {
  const { controller, publisher } = await startController(t, tempStateDir(t, "sluice-apply-hosts-"));

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
