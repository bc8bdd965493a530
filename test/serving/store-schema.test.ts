// The store's schema is versioned (PRAGMA user_version): a store from before versioning is
// migrated on open, with its history; a store from a newer sluice is refused, not misread.
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import t from "tap";
import type { ServiceManifest } from "../../serving/manifest.ts";
import { RevisionStore } from "../../serving/revision-store.ts";
import { SCHEMA_VERSION } from "../../serving/store-schema.ts";
import { tempDir } from "../helpers/temp.ts";

const manifest = (name: string, namespace: string): ServiceManifest => ({
  apiVersion: "serving.knative.dev/v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { template: { spec: { containers: [{ command: ["node", "app.ts"] }] } } },
});

/** The layout sluice wrote before the schema had a version: revisions keyed by name alone. */
function oldLayout(dir: string): void {
  const db = new DatabaseSync(join(dir, "sluice.db"));
  db.exec(`
    CREATE TABLE services (
      namespace TEXT NOT NULL, name TEXT NOT NULL, manifest TEXT NOT NULL, applied_at INTEGER NOT NULL,
      PRIMARY KEY (namespace, name));
    CREATE TABLE revisions (
      name TEXT PRIMARY KEY, namespace TEXT NOT NULL, service TEXT NOT NULL, sequence INTEGER NOT NULL,
      template_hash TEXT NOT NULL, template TEXT NOT NULL, created_at INTEGER NOT NULL, ready_at INTEGER);
    CREATE INDEX revisions_by_service ON revisions (namespace, service, sequence);
  `);
  const service = db.prepare("INSERT INTO services VALUES (?, ?, ?, ?)");
  const revision = db.prepare(
    "INSERT INTO revisions (name, namespace, service, sequence, template_hash, template, created_at, ready_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  service.run("default", "hello", JSON.stringify(manifest("hello", "default")), 1);
  revision.run("hello-00001", "default", "hello", 1, "h1", JSON.stringify({ spec: {} }), 1, 5);
  revision.run("hello-00002", "default", "hello", 2, "h2", JSON.stringify({ spec: {} }), 2, null);
  db.close();
}

const userVersion = (dir: string) => {
  const db = new DatabaseSync(join(dir, "sluice.db"));
  const { user_version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
  db.close();
  return user_version;
};

t.test("a store from before versioning is migrated on open, history kept", async (t) => {
  const dir = tempDir(t, "sluice-schema-");
  oldLayout(dir);
  t.equal(userVersion(dir), 0);
  const store = new RevisionStore(dir);
  t.teardown(() => store.close());
  t.equal(userVersion(dir), SCHEMA_VERSION);
  t.same(
    store.services().map((s) => [s.manifest.metadata.name, s.active]),
    [["hello", true]],
    "services of the old layout were running: active",
  );
  store.deactivateAll();
  t.same(
    store.services().map((s) => s.active),
    [false],
  );
  t.same(
    store.revisions("default", "hello").map((r) => [r.name, r.sequence, r.readyAt]),
    [
      ["hello-00001", 1, 5],
      ["hello-00002", 2, undefined],
    ],
  );
  // The new key: the same revision name in another namespace is another revision.
  store.apply(
    [manifest("hello", "staging")],
    [
      {
        name: "hello-00001",
        namespace: "staging",
        service: "hello",
        sequence: 1,
        templateHash: "s1",
        template: { spec: { containers: [] } },
        createdAt: 3,
      },
    ],
    3,
  );
  store.markReady("staging", "hello-00001", 7);
  t.same(
    store.revisions("staging", "hello").map((r) => [r.name, r.readyAt]),
    [["hello-00001", 7]],
  );
  t.equal(store.revisions("default", "hello")[0].readyAt, 5, "default's untouched");
  store.deleteRevision("staging", "hello-00001");
  t.equal(store.revisions("default", "hello").length, 2);
});

t.test("a fresh store starts at the current version; reopening changes nothing", async (t) => {
  const dir = tempDir(t, "sluice-schema-");
  new RevisionStore(dir).close();
  t.equal(userVersion(dir), SCHEMA_VERSION);
  new RevisionStore(dir).close();
  t.equal(userVersion(dir), SCHEMA_VERSION);
});

t.test("a store a newer sluice wrote is refused with a clear error", async (t) => {
  const dir = tempDir(t, "sluice-schema-");
  new RevisionStore(dir).close();
  const db = new DatabaseSync(join(dir, "sluice.db"));
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  t.throws(() => new RevisionStore(dir), {
    message: new RegExp(
      `sluice\\.db: the store is at schema version ${SCHEMA_VERSION + 1}, newer than this sluice understands \\(${SCHEMA_VERSION}\\)`,
    ),
  });
  t.equal(userVersion(dir), SCHEMA_VERSION + 1, "left as it was");
});
