// A quick "certainly not one of these" for header names, so that a pass over a request's or a
// response's headers lower-cases and looks up only the few names that may matter: a browser's
// request carries a dozen headers, and lower-casing each (a new string) and hashing it into a Set
// was most of what a hop spent per header (docs/data-path.md).

/** Names longer than this are never in a filter's list (none of the data plane's is). */
const MAX_LENGTH = 63;

/**
 * Filters header names by their length and first letter: a name can equal one of the listed names,
 * ignoring ASCII case, only if both match one of theirs. A "maybe" is then checked in full; a "no"
 * is final. The first letter is compared by its low 5 bits, which upper and lower case share (other
 * characters may collide, which only makes a "maybe"). Names as llhttp and node:http2 give them are
 * tokens of ASCII letters, digits and symbols (and llhttp's strings are Latin-1, none of whose
 * letters lower-cases to ASCII), so no name passes as another by a Unicode case mapping.
 */
export class HeaderNameFilter {
  readonly #table = new Uint8Array((MAX_LENGTH + 1) * 32);

  constructor(lowerNames: Iterable<string>) {
    for (const name of lowerNames) {
      if (name.length === 0 || name.length > MAX_LENGTH)
        throw new Error(`header name out of range: "${name}"`);
      this.#table[name.length * 32 + (name.charCodeAt(0) & 31)] = 1;
    }
  }

  /** false: `name` is none of the listed names in any case. */
  mayBeOneOf(name: string): boolean {
    const length = name.length;
    return length <= MAX_LENGTH && this.#table[length * 32 + (name.charCodeAt(0) & 31)] === 1;
  }
}
