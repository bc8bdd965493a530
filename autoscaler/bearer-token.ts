import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * Whether an Authorization header carries `Bearer <token>`. Compares SHA-256 digests with
 * timingSafeEqual: equal lengths always, so neither the token's content nor its length leaks
 * through response timing.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  const given = match ? match[1] : "";
  // Always compare, even when the header is absent or malformed, so every path costs the same.
  const same = timingSafeEqual(digest(given), digest(token));
  return match !== null && same;
}
