import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessIdentity } from "./process-identity.ts";

/**
 * What the platform records about each pod it runs, so that after a restart it can adopt the pod
 * (or kill what is left of it). One `pod.json` per pod directory, beside the app's output files.
 */
export interface PodRecord {
  name: string;
  namespace: string;
  service: string;
  revision: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
  /** Set once the pod has been ready: an adopted pod that is not ready now is "not-ready", not "starting". */
  readyAt?: number;
  appPort: number;
  servingPort: number;
  adminPort: number;
  app: ProcessIdentity;
  /** Missing while the pod is between starting its app and its queue-proxy. */
  queueProxy?: ProcessIdentity;
}

const RECORD = "pod.json";

/** The pods directory under the state dir: `<pods>/<pod name>/{pod.json,app.stdout,…}` and the lease. */
export class PodRegistry {
  readonly dir: string;
  readonly leasePath: string;

  constructor(dir: string) {
    this.dir = dir;
    this.leasePath = join(dir, "lease");
    mkdirSync(dir, { recursive: true });
  }

  /** The pod's directory (created): where its record and its output files live. */
  podDir(name: string): string {
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes the record atomically (a reader never sees half of it). */
  write(record: PodRecord): void {
    const dir = this.podDir(record.name);
    const temporary = join(dir, `${RECORD}.tmp`);
    writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(temporary, join(dir, RECORD));
  }

  /** Forgets a pod: its record and output files. */
  remove(name: string): void {
    rmSync(join(this.dir, name), { recursive: true, force: true });
  }

  /** Every recorded pod, and the names of pod directories with no readable record. */
  list(): { records: PodRecord[]; unreadable: string[] } {
    const records: PodRecord[] = [];
    const unreadable: string[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return { records, unreadable };
    }
    for (const name of entries) {
      const record = parseRecord(() => readFileSync(join(this.dir, name, RECORD), "utf8"));
      if (record && record.name === name) records.push(record);
      else unreadable.push(name);
    }
    return { records, unreadable };
  }
}

function parseRecord(read: () => string): PodRecord | undefined {
  try {
    const value = JSON.parse(read()) as PodRecord;
    const valid =
      typeof value?.name === "string" &&
      typeof value.revision === "string" &&
      typeof value.adminPort === "number" &&
      typeof value.servingPort === "number" &&
      typeof value.app?.pid === "number";
    return valid ? value : undefined;
  } catch {
    return undefined;
  }
}
