import t from "tap";
import { findCollisions, hostClaims } from "../../serving/host-collisions.ts";
import { byPosition, formatProblem, loadManifests } from "../../serving/load.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { resolveRoute, serviceHosts } from "../../serving/routes.ts";
import { validateServices } from "../../serving/validate.ts";
import { serviceYaml } from "../helpers/service-yaml.ts";

function svc(name: string, namespace: string, tags: string[] = []): string {
  const traffic =
    tags.length === 0
      ? ""
      : `  traffic:\n    - latestRevision: true\n      percent: 100\n${tags
          .map((tag) => `    - latestRevision: true\n      percent: 0\n      tag: ${tag}\n`)
          .join("")}`;
  return serviceYaml(name, { namespace, traffic });
}

function check(text: string, running: string[] = []): string[] {
  const { documents, problems } = loadManifests(text, "svc.yaml");
  const others = running.map((r) => loadManifests(r, "running.yaml").services[0].manifest);
  return [...problems, ...validateServices(documents, () => [], others)].sort(byPosition).map(formatProblem);
}

t.test("the bare {service} host belongs to the default namespace only", async (t) => {
  t.same(serviceHosts("hello", "default", "example.com"), [
    "hello.default.example.com",
    "hello.default",
    "hello",
  ]);
  t.same(serviceHosts("hello", "staging", "example.com"), ["hello.staging.example.com", "hello.staging"]);
  const manifest = loadManifests(svc("hello", "staging", ["canary"]), "s.yaml").services[0]
    .manifest as ServiceManifest;
  const route = resolveRoute(manifest, { created: "hello-00001" }, "example.com");
  t.same(route.hosts, ["hello.staging.example.com", "hello.staging"]);
  t.same(route.tags.canary.hosts, ["canary-hello.staging.example.com", "canary-hello.staging"]);
});

t.test("the same name in two namespaces is fine", async (t) => {
  t.same(check(`${svc("hello", "default")}---\n${svc("hello", "staging")}`), []);
  t.same(check(svc("hello", "staging"), [svc("hello", "default")]), []);
});

t.test("a tag host equal to another service's host is rejected, naming both", async (t) => {
  // Service a with tag b in namespace x answers on b-a.x: service b-a's host.
  t.same(check(`${svc("a", "x", ["b"])}---\n${svc("b-a", "x")}`), [
    "svc.yaml:21:9: metadata.name: service x/b-a would answer on host b-a.x, already the host of tag b of service x/a (svc.yaml:1)",
  ]);
  t.same(check(`${svc("b-a", "x")}---\n${svc("a", "x", ["b"])}`), [
    "svc.yaml:27:12: spec.traffic[1].tag: tag b of service x/a would answer on host b-a.x, already the host of service x/b-a (svc.yaml:1)",
  ]);
  t.same(check(svc("a", "x", ["b"]), [svc("b-a", "x")]), [
    "svc.yaml:16:12: spec.traffic[1].tag: tag b of service x/a would answer on host b-a.x, already the host of service x/b-a (running)",
  ]);
  t.same(check(svc("b-a", "x"), [svc("a", "x", ["b"])]), [
    "svc.yaml:4:9: metadata.name: service x/b-a would answer on host b-a.x, already the host of tag b of service x/a (running)",
  ]);
  t.same(check(svc("a", "y", ["b"]), [svc("b-a", "x")]), [], "another namespace: other hosts");
});

t.test("two tags of different services on one host collide too", async (t) => {
  // Tag x-b of service a and tag x of service b-a are both x-b-a.
  t.match(
    check(`${svc("a", "default", ["x-b"])}---\n${svc("b-a", "default", ["x"])}`).join("\n"),
    /spec\.traffic\[1\]\.tag: tag x of service default\/b-a would answer on host x-b-a\.default, already the host of tag x-b of service default\/a \(svc\.yaml:1\)/,
  );
});

t.test("a document replaces the running service of its name, and its hosts", async (t) => {
  // a had tag b; applied again without it, next to a new service b-a: no collision.
  t.same(check(`${svc("a", "x")}---\n${svc("b-a", "x")}`, [svc("a", "x", ["b"])]), []);
  // Re-applying a running service unchanged does not collide with itself.
  t.same(check(svc("a", "x", ["b"]), [svc("a", "x", ["b"])]), []);
});

t.test("collisions among running services alone are not this input's problem", async (t) => {
  t.same(check(svc("z", "x"), [svc("a", "x", ["b"]), svc("b-a", "x")]), []);
});

t.test("hostClaims and findCollisions", async (t) => {
  const claims = hostClaims({ metadata: { name: "a" }, spec: { traffic: [undefined, { tag: "t" }, {}] } });
  t.same(claims, [
    { label: "a", namespace: "default", service: "a", path: ["metadata", "name"] },
    { label: "t-a", namespace: "default", service: "a", tag: "t", path: ["spec", "traffic", 1, "tag"] },
  ]);
  t.same(hostClaims({ spec: {} }), [], "no name, no claims");
  t.same(
    findCollisions([
      { owner: 1, claims },
      { owner: 2, claims },
    ]).length,
    0,
    "a service never collides with itself",
  );
});
