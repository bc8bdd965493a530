/**
 * Flat header list → undici's header object, added to `out`: lower-case names, a repeated name's
 * values in an array.
 */
export function addHeaders(out: Record<string, string | string[]>, raw: readonly string[]): void {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    // Own properties only: a header named Constructor must not find Object's.
    const seen = Object.hasOwn(out, name) ? out[name] : undefined;
    if (seen === undefined) {
      if (name !== "__proto__") out[name] = value;
    } else if (typeof seen === "string") out[name] = [seen, value];
    else seen.push(value);
  }
}
