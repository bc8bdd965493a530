import { isPlainObject, withoutNulls } from "./absent.ts";
import type { ServiceManifest } from "./manifest.ts";

/** T with every field optional and every list item possibly missing, at every depth. */
export type Draft<T> = T extends readonly (infer Item)[]
  ? (Draft<Item> | undefined)[]
  : T extends object
    ? { [K in keyof T]?: Draft<T[K]> }
    : T;

/**
 * A Service document as the checks after the schema see it: every value the schema accepted, and
 * nothing it rejected. A full ServiceManifest is a ServiceDraft too.
 */
export type ServiceDraft = Draft<ServiceManifest>;

/**
 * `value` without the values at `rejected` paths (a rejected list item becomes a hole, so the
 * other items keep their index). What is left has the schema's types wherever it is present, so
 * the annotation, traffic and host checks can run on a document the schema refused, as Knative's
 * webhook reports every problem at once instead of the first stage's.
 */
export function draftOf(value: unknown, rejected: readonly (readonly PropertyKey[])[]): ServiceDraft {
  const draft = withoutNulls(value); // a fresh copy: safe to cut
  if (!isPlainObject(draft)) return {};
  for (const path of rejected) {
    if (path.length === 0) return {};
    let parent: unknown = draft;
    for (const key of path.slice(0, -1)) parent = child(parent, key);
    const last = path[path.length - 1];
    if (Array.isArray(parent) && typeof last === "number") parent[last] = undefined;
    else if (isPlainObject(parent) && typeof last === "string") delete parent[last];
  }
  return draft as ServiceDraft;
}

function child(parent: unknown, key: PropertyKey): unknown {
  if (Array.isArray(parent) && typeof key === "number") return parent[key];
  if (isPlainObject(parent) && typeof key === "string" && Object.hasOwn(parent, key)) return parent[key];
  return undefined;
}
