import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LEASE_FILE } from "./lease.ts";
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
  /** The Unix socket the queue-proxy serves on as well (none when the pod's path is too long). */
  servingSocket?: string;
  adminPort: number;
  app: ProcessIdentity;
  /** Missing while the pod is between starting its app and its queue-proxy. */
  queueProxy?: ProcessIdentity;
}

const RECORD = "pod.json";

/** A pod's identity: pod names ({revision}-{nnn}) are unique within a namespace only. */
export interface PodRef {
  namespace: string;
  name: string;
}

/** A pod's directory name: `{namespace}_{pod}` ("_" is in neither: both are DNS labels). */
export function podDirName(pod: PodRef): string {
  return `${pod.namespace}_${pod.name}`;
}

/**
 * The pods directory under the state dir: `<pods>/<namespace>_<pod name>/{pod.json,app.stdout,…}`
 * and the lease.
 */
export class PodRegistry {
  readonly dir: string;
  readonly leasePath: string;

  constructor(dir: string) {
    this.dir = dir;
    this.leasePath = join(dir, LEASE_FILE);
    mkdirSync(dir, { recursive: true });
  }

  /** The pod's directory (created): where its record and its output files live. */
  podDir(pod: PodRef): string {
    const dir = join(this.dir, podDirName(pod));
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes the record atomically (a reader never sees half of it). */
  write(record: PodRecord): void {
    const dir = this.podDir(record);
    const temporary = join(dir, `${RECORD}.tmp`);
    writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(temporary, join(dir, RECORD));
  }

  /** Forgets a pod: its record and output files. */
  remove(pod: PodRef): void {
    this.removeDir(podDirName(pod));
  }

  /** Forgets a directory list() found stale. */
  removeDir(dir: string): void {
    rmSync(join(this.dir, dir), { recursive: true, force: true });
  }

  /**
   * Every recorded pod, and the stale directories: no readable record, or a record in another
   * directory than its own (an older layout: `<pod name>` alone), whose processes may still run.
   */
  list(): { records: PodRecord[]; stale: { dir: string; record?: PodRecord }[] } {
    const records: PodRecord[] = [];
    const stale: { dir: string; record?: PodRecord }[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return { records, stale };
    }
    for (const dir of entries) {
      const record = parseRecord(() => readFileSync(join(this.dir, dir, RECORD), "utf8"));
      if (record && podDirName(record) === dir) records.push(record);
      else stale.push({ dir, ...(record ? { record } : {}) });
    }
    return { records, stale };
  }
}

function parseRecord(read: () => string): PodRecord | undefined {
  try {
    const value = JSON.parse(read()) as PodRecord;
    const valid =
      typeof value?.name === "string" &&
      typeof value.namespace === "string" &&
      typeof value.revision === "string" &&
      typeof value.adminPort === "number" &&
      typeof value.servingPort === "number" &&
      (value.servingSocket === undefined || typeof value.servingSocket === "string") &&
      typeof value.app?.pid === "number";
    return valid ? value : undefined;
  } catch {
    return undefined;
  }
}
