import { HOP_AUTH_HEADER } from "./internal-headers.ts";

/** Shortest hop secret accepted (a guessable secret would be no boundary at all). */
export const MIN_HOP_SECRET_LENGTH = 16;

// node:crypto (~2 MB of RSS) is loaded at the first verify, not at start: a queue-proxy may sit idle.
let cryptoModule: typeof import("node:crypto") | undefined;
const crypto = () => (cryptoModule ??= process.getBuiltinModule("node:crypto"));
const digest = (value: string): Buffer => crypto().createHash("sha256").update(value).digest();

/**
 * The installation's hop secret (SLUICE_HOP_SECRET), shared by the router, activator and every
 * queue-proxy: a hop sends it with the internal headers it sets, and the next hop believes those
 * headers only when it comes along. Without a secret nothing is sent and nothing verifies.
 */
export class HopAuth {
  /** [name, value] to append to an upstream request's flat header list; empty without a secret. */
  readonly header: readonly string[];
  readonly #secret: string | undefined;
  /** The secret's digest, computed at the first verify. */
  #expected: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.header = secret === undefined ? [] : [HOP_AUTH_HEADER, secret];
    this.#secret = secret;
  }

  get configured(): boolean {
    return this.#secret !== undefined;
  }

  /** Whether `value` (the hop-auth header as received) is the secret; compared in constant time. */
  verify(value: string | undefined): boolean {
    if (this.#secret === undefined || value === undefined) return false;
    this.#expected ??= digest(this.#secret);
    // Digests have one length, so the comparison time says nothing about the secret's length either.
    return crypto().timingSafeEqual(digest(value), this.#expected);
  }
}

/** Reads SLUICE_HOP_SECRET for a component's config: undefined when unset, a problem when too short. */
export function parseHopSecret(value: string | undefined): { secret: string | undefined; problem?: string } {
  if (value === undefined) return { secret: undefined };
  if (value.length < MIN_HOP_SECRET_LENGTH)
    return {
      secret: undefined,
      problem: `SLUICE_HOP_SECRET: at least ${MIN_HOP_SECRET_LENGTH} characters (e.g. openssl rand -base64 32)`,
    };
  return { secret: value };
}
