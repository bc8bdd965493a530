import type { RevisionRuntime } from "./revision-runtime.ts";
import type { ServiceEntry } from "./service-entry.ts";

/**
 * Takes out of the active services' histories every revision that no route has referenced for
 * `retentionMs` and that is scaled to zero, and returns them: the caller deletes them from the
 * store and the platform. Inactive services are history only: nothing of theirs is collected.
 */
export function collectGarbage(
  services: Iterable<ServiceEntry>,
  referenced: ReadonlySet<string>,
  now: number,
  retentionMs: number,
): RevisionRuntime[] {
  const collected: RevisionRuntime[] = [];
  for (const entry of services) {
    if (!entry.active) continue;
    entry.revisions = entry.revisions.filter((runtime) => {
      const expired =
        !referenced.has(runtime.key) &&
        runtime.unreferencedSince !== undefined &&
        now - runtime.unreferencedSince >= retentionMs &&
        runtime.desired === 0;
      if (expired) collected.push(runtime);
      return !expired;
    });
  }
  return collected;
}
