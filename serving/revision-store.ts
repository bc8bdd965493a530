import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { ServiceManifest } from "./manifest.ts";
import type { Revision } from "./revisions.ts";
import { migrate } from "./store-schema.ts";

/**
 * Services and their revision history, persisted in SQLite (node:sqlite, built into Node 24)
 * under the state directory (.sluice/ by default). Each apply is one transaction: a restart sees
 * either all of it or none of it. The schema is versioned (store-schema.ts): an older store is
 * migrated on open, a newer one refused. A revision is identified by its namespace and name.
 */
export class RevisionStore {
  readonly #db: DatabaseSync;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    const file = join(directory, "sluice.db");
    this.#db = new DatabaseSync(file);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    try {
      migrate(this.#db, file);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /** Writes services (active from now on) and new revisions together, atomically. */
  apply(services: readonly ServiceManifest[], newRevisions: readonly Revision[], now: number): void {
    const upsertService = this.#db.prepare(
      "INSERT INTO services (namespace, name, manifest, applied_at, active) VALUES (?, ?, ?, ?, 1) ON CONFLICT (namespace, name) DO UPDATE SET manifest = excluded.manifest, applied_at = excluded.applied_at, active = 1",
    );
    const insertRevision = this.#db.prepare(
      "INSERT INTO revisions (name, namespace, service, sequence, template_hash, template, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#transaction(() => {
      for (const manifest of services) {
        upsertService.run(
          manifest.metadata.namespace ?? "default",
          manifest.metadata.name,
          JSON.stringify(manifest),
          now,
        );
      }
      for (const r of newRevisions) {
        insertRevision.run(
          r.name,
          r.namespace,
          r.service,
          r.sequence,
          r.templateHash,
          JSON.stringify(r.template),
          r.createdAt,
        );
      }
    });
  }

  /** Every service applied and not deleted; `active: false` for one kept only for its history. */
  services(): { manifest: ServiceManifest; active: boolean }[] {
    const rows = this.#db.prepare("SELECT manifest, active FROM services ORDER BY namespace, name").all() as {
      manifest: string;
      active: number;
    }[];
    return rows.map((row) => ({
      manifest: JSON.parse(row.manifest) as ServiceManifest,
      active: row.active === 1,
    }));
  }

  /**
   * Marks every service inactive: an earlier run's services stay known (their revision numbering
   * continues) but do not run until applied again.
   */
  deactivateAll(): void {
    this.#db.exec("UPDATE services SET active = 0");
  }

  /** A service's revisions, oldest first. */
  revisions(namespace: string, service: string): (Revision & { readyAt?: number })[] {
    const rows = this.#db
      .prepare("SELECT * FROM revisions WHERE namespace = ? AND service = ? ORDER BY sequence")
      .all(namespace, service) as Record<string, string | number | null>[];
    return rows.map((row) => ({
      name: row.name as string,
      namespace: row.namespace as string,
      service: row.service as string,
      sequence: row.sequence as number,
      templateHash: row.template_hash as string,
      template: JSON.parse(row.template as string),
      createdAt: row.created_at as number,
      ...(row.ready_at === null ? {} : { readyAt: row.ready_at as number }),
    }));
  }

  /** Records the first time a revision had a ready pod (it then counts as "latest ready"). */
  markReady(namespace: string, revision: string, at: number): void {
    this.#db
      .prepare("UPDATE revisions SET ready_at = ? WHERE namespace = ? AND name = ? AND ready_at IS NULL")
      .run(at, namespace, revision);
  }

  deleteRevision(namespace: string, revision: string): void {
    this.#db.prepare("DELETE FROM revisions WHERE namespace = ? AND name = ?").run(namespace, revision);
  }

  close(): void {
    this.#db.close();
  }

  #transaction(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
