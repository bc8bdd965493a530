import type { DatabaseSync } from "node:sqlite";

/**
 * The store's schema as a list of steps: step i takes a database from version i to i + 1
 * (`PRAGMA user_version`). A database is opened by running the steps it has not had yet, each in
 * its own transaction with its version bump, so a crash mid-migration leaves the last good version.
 */
const MIGRATIONS: readonly string[] = [
  // 0 → 1: the first layout, which had no version (a database from then is at 0 and has these
  // tables already, hence IF NOT EXISTS). Revisions were keyed by name alone.
  `CREATE TABLE IF NOT EXISTS services (
     namespace TEXT NOT NULL, name TEXT NOT NULL, manifest TEXT NOT NULL, applied_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, name));
   CREATE TABLE IF NOT EXISTS revisions (
     name TEXT PRIMARY KEY, namespace TEXT NOT NULL, service TEXT NOT NULL, sequence INTEGER NOT NULL,
     template_hash TEXT NOT NULL, template TEXT NOT NULL, created_at INTEGER NOT NULL, ready_at INTEGER);
   CREATE INDEX IF NOT EXISTS revisions_by_service ON revisions (namespace, service, sequence);`,
  // 1 → 2: revision names are unique per namespace only (Knative's {service}-{n}).
  `CREATE TABLE revisions_v2 (
     namespace TEXT NOT NULL, name TEXT NOT NULL, service TEXT NOT NULL, sequence INTEGER NOT NULL,
     template_hash TEXT NOT NULL, template TEXT NOT NULL, created_at INTEGER NOT NULL, ready_at INTEGER,
     PRIMARY KEY (namespace, name));
   INSERT INTO revisions_v2 (namespace, name, service, sequence, template_hash, template, created_at, ready_at)
     SELECT namespace, name, service, sequence, template_hash, template, created_at, ready_at FROM revisions;
   DROP TABLE revisions;
   ALTER TABLE revisions_v2 RENAME TO revisions;
   CREATE INDEX revisions_by_service ON revisions (namespace, service, sequence);`,
  // 2 → 3: whether a service runs now, or only its history is kept (applied in an earlier run).
  "ALTER TABLE services ADD COLUMN active INTEGER NOT NULL DEFAULT 1;",
];

/** The version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` to SCHEMA_VERSION; refuses a database a newer sluice wrote (it would misread it). */
export function migrate(db: DatabaseSync, file: string): void {
  for (;;) {
    // The version is read inside the step's transaction: two processes opening one store migrate once.
    db.exec("BEGIN IMMEDIATE");
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (version >= SCHEMA_VERSION) {
      db.exec("COMMIT");
      if (version === SCHEMA_VERSION) return;
      throw new Error(
        `${file}: the store is at schema version ${version}, newer than this sluice understands (${SCHEMA_VERSION}); run the newer sluice, or move the state directory aside to start afresh`,
      );
    }
    try {
      db.exec(MIGRATIONS[version]);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw new Error(
        `${file}: cannot migrate the store from schema version ${version} to ${version + 1}: ${(error as Error).message}`,
      );
    }
  }
}
