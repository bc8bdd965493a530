import t from "tap";
import { childName, KNATIVE_GROUP } from "../../../platform/kubernetes/names.ts";
import { revisionPodService } from "../../../platform/kubernetes/pod-service.ts";
import {
  type RevisionObject,
  revisionFromObject,
  revisionHistory,
  revisionObject,
} from "../../../platform/kubernetes/revision-object.ts";
import { loadManifests } from "../../../serving/load.ts";
import type { ServiceManifest } from "../../../serving/manifest.ts";
import { type Revision, revisionFor } from "../../../serving/revisions.ts";

const SERVICE = `
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: web
spec:
  template:
    metadata:
      labels:
        team: a
      annotations:
        autoscaling.knative.dev/target: "5"
    spec:
      containerConcurrency: 5
      containers:
        - image: ghcr.io/acme/hello:1
          env:
            - name: GREETING
              value: hi
`;

function manifestOf(yaml: string): ServiceManifest {
  return loadManifests(yaml, "s.yaml").services[0].manifest;
}

function firstRevision(manifest: ServiceManifest): Revision {
  const result = revisionFor(manifest, [], Date.parse("2026-12-01T10:00:00Z"));
  if ("error" in result) throw new Error(result.error);
  return result.revision;
}

const service = { name: "hello", uid: "svc-uid" };

t.test("the Revision object: the template, labels, owner reference to the Service", async (t) => {
  const revision = firstRevision(manifestOf(SERVICE));
  const object = revisionObject(revision, service);
  t.equal(object.apiVersion, "serving.sluice.dev/v1");
  t.equal(object.kind, "Revision");
  t.equal(object.metadata.name, "hello-00001");
  t.equal(object.metadata.namespace, "web");
  t.same(object.spec, revision.template.spec, "the spec is the template's, unchanged");
  t.match(object.metadata.labels, {
    team: "a",
    "serving.sluice.dev/service": "hello",
    "serving.sluice.dev/configuration": "hello",
    "serving.sluice.dev/namespace": "web",
  });
  t.notOk("serving.knative.dev/service" in (object.metadata.labels ?? {}));
  t.match(object.metadata.annotations, {
    "autoscaling.knative.dev/target": "5",
    "serving.sluice.dev/sequence": "1",
    "serving.sluice.dev/template-hash": revision.templateHash,
    "serving.sluice.dev/created-at": "2026-12-01T10:00:00.000Z",
  });
  t.same(object.metadata.ownerReferences, [
    {
      apiVersion: "serving.sluice.dev/v1",
      kind: "Service",
      name: "hello",
      uid: "svc-uid",
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  const knative = revisionObject(revision, service, KNATIVE_GROUP);
  t.equal(knative.apiVersion, "serving.knative.dev/v1");
  t.match(knative.metadata.labels, {
    "serving.knative.dev/service": "hello",
    "serving.knative.dev/serviceUID": "svc-uid",
    "serving.knative.dev/configurationGeneration": "1",
  });
});

t.test("a Revision object reads back as the revision: history survives a restart", async (t) => {
  const manifest = manifestOf(SERVICE);
  const revision = firstRevision(manifest);
  const stored = JSON.parse(JSON.stringify(revisionObject(revision, service))) as RevisionObject;
  t.same(revisionFromObject(stored), revision);
  // The same template again: no new revision; a changed one: the next sequence.
  const again = revisionFor(manifest, revisionHistory([stored], "hello"), Date.now());
  t.match(again, { created: false, revision: { name: "hello-00001" } });
  const changed = manifestOf(SERVICE.replace("value: hi", "value: hello"));
  t.match(revisionFor(changed, revisionHistory([stored], "hello"), Date.now()), {
    created: true,
    revision: { name: "hello-00002", sequence: 2 },
  });
  t.equal(revisionFromObject({ ...stored, metadata: { name: "foreign", labels: {} } }), undefined);
});

t.test("revisionHistory: one service's revisions, oldest first", async (t) => {
  const first = firstRevision(manifestOf(SERVICE));
  const second = { ...first, name: "hello-00002", sequence: 2, templateHash: "other" };
  const otherService = { ...first, name: "bye-00001", service: "bye" };
  const objects = [second, otherService, first].map((r) => revisionObject(r, service));
  t.same(
    revisionHistory(objects, "hello").map((r) => r.name),
    ["hello-00001", "hello-00002"],
  );
});

t.test("the headless Service whose EndpointSlices list the pods", async (t) => {
  const revision = firstRevision(manifestOf(SERVICE));
  const podService = revisionPodService(revision, "rev-uid");
  t.equal(podService.metadata?.name, "hello-00001-private");
  t.equal(podService.spec?.clusterIP, "None");
  t.same(podService.spec?.selector, { "serving.sluice.dev/revision": "hello-00001" });
  t.same(
    podService.spec?.ports?.map((p) => [p.name, p.port]),
    [
      ["queue-serving", 8012],
      ["queue-admin", 8022],
      ["queue-metrics", 9091],
    ],
  );
  t.equal(podService.metadata?.ownerReferences?.[0].kind, "Revision");
  t.equal(podService.metadata?.ownerReferences?.[0].uid, "rev-uid");
});

t.test("child names stay DNS labels", async (t) => {
  t.equal(childName("hello-00001", "-private"), "hello-00001-private");
  const long = `${"a".repeat(58)}-00001`;
  const name = childName(long, "-private");
  t.equal(name.length, 63);
  t.ok(name.endsWith("-private"));
  t.not(childName(`${"a".repeat(58)}-00002`, "-private"), name, "still unique");
});
