import { hostKey } from "./host.ts";

/** A 253-character name, a colon and a 5-digit port (or an IPv6 literal with one). */
const MAX_KEPT_LENGTH = 260;

/**
 * hostKey() remembered for the Host values seen last: nearly every request carries one of a few,
 * and checking and lower-casing one again (~0.15 µs) cost more than finding it (and the same key
 * string each time is one whose hash the route table's lookup already knows). Bounded: when full
 * it starts afresh, so a client sending ever new hosts costs only what no memo would.
 */
export class HostKeys {
  readonly #keys = new Map<string, string | null>();
  readonly #capacity: number;

  constructor(capacity = 256) {
    this.#capacity = capacity;
  }

  /** hostKey(host), remembered. */
  readonly of = (host: string | undefined): string | undefined => {
    // Longer than any valid host with a port: not kept (a Host may be as long as the head).
    if (host === undefined || host.length > MAX_KEPT_LENGTH) return hostKey(host);
    const known = this.#keys.get(host);
    if (known !== undefined) return known ?? undefined;
    const key = hostKey(host);
    if (this.#keys.size >= this.#capacity) this.#keys.clear();
    this.#keys.set(host, key ?? null);
    return key;
  };

  get size(): number {
    return this.#keys.size;
  }
}
