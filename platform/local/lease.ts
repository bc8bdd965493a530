import { rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The platform's lease on its pods: a file whose modification time the running platform renews
 * every second. Pods outlive an autoscaler that dies (so a restarted one can adopt them), but not
 * forever: a pod whose lease is gone or older than the orphan grace stops itself
 * (see pod-guard.ts).
 */

/** The lease file's name in the pods directory. */
export const LEASE_FILE = "lease";

/** The pods directory (records, output, lease) under a state directory. */
export function podsDirIn(stateDir: string): string {
  return join(stateDir, "pods");
}

/**
 * Removes the lease at once, for a forced stop (`sluice up`'s second Ctrl-C SIGKILLs the
 * autoscaler, which then cannot stop its pods): the pods see it gone and stop within a second
 * instead of after the orphan grace.
 */
export function revokeLease(stateDir: string): void {
  rmSync(join(podsDirIn(stateDir), LEASE_FILE), { force: true });
}

/** How often the platform renews the lease, for a given orphan grace. */
export function renewEveryMs(orphanGraceMs: number): number {
  return Math.max(50, Math.min(1000, orphanGraceMs / 4));
}

/** Whether a lease last renewed at `renewedAt` (undefined: no lease file) has lapsed. */
export function leaseExpired(renewedAt: number | undefined, now: number, orphanGraceMs: number): boolean {
  return renewedAt === undefined || now - renewedAt > orphanGraceMs;
}

/** When the lease file was last renewed, or undefined when there is none. */
export function leaseRenewedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Renews (or creates) the lease file; false when it cannot be written (state dir removed). */
export function renewLease(path: string): boolean {
  const now = new Date();
  try {
    utimesSync(path, now, now);
    return true;
  } catch {
    try {
      writeFileSync(path, `${process.pid}\n`);
      return true;
    } catch {
      return false;
    }
  }
}
