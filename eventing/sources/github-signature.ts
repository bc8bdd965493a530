import { createHmac, timingSafeEqual } from "node:crypto";

// GitHub's webhook signature: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the
// raw body under the webhook's secret. Compared in constant time (timingSafeEqual over equal
// lengths), so a forger learns nothing from how long a wrong guess took.

export function signBody(secret: string | Uint8Array, body: Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function verifySignature(
  secret: string | Uint8Array,
  body: Uint8Array,
  header: string | undefined,
): boolean {
  if (header === undefined) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], "hex"));
}
