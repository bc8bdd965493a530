/**
 * A parsed document as Kubernetes reads it: a field whose value is null (`metadata:` with nothing
 * under it, `annotations: null`, `env: ~`) is absent, not an error and not the string "null".
 * Returns a copy without those fields, at every depth. A null list item stays (Kubernetes has no
 * absent item; the schema reports it). Only plain objects and arrays are walked: anything else a
 * YAML tag can make (dates, binary, sets) is kept as it is for the schema to judge.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === null || field === undefined) continue;
    // defineProperty: a "__proto__" key is data here, never the prototype.
    Object.defineProperty(out, key, {
      value: withoutNulls(field),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
