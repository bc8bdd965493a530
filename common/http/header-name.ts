/**
 * Whether a header name as received is `lowerName` (ASCII, lower case) in any case, without making
 * its lower-case copy: a new string per header per pass, which was much of what a hop spent per
 * header. Only A–Z fold to a–z, as toLowerCase() folds ASCII; no other character of a Latin-1
 * name (as llhttp gives it) lower-cases to ASCII.
 */
export function sameHeaderName(name: string, lowerName: string): boolean {
  const length = name.length;
  if (length !== lowerName.length) return false;
  for (let i = 0; i < length; i++) {
    const c = name.charCodeAt(i);
    const lower = lowerName.charCodeAt(i);
    if (c !== lower && (c < 65 || c > 90 || c + 32 !== lower)) return false;
  }
  return true;
}
