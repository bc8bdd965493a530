/**
 * Flat header list → undici's header object, added to `out`: lower-case names, a repeated name's
 * values in an array.
 */
export function addHeaders(out: Record<string, string | string[]>, raw: readonly string[]): void {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (typeof seen === "string") out[name] = [seen, value];
    else seen.push(value);
  }
}
