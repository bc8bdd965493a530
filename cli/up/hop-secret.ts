import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The installation's hop secret for `sluice up`: SLUICE_HOP_SECRET if set, else the one kept in
 * the state directory, else a new random one written there (owner-only). Kept rather than new per
 * run because pods outlive a restart and are re-adopted: their queue-proxies know the old secret.
 */
export function hopSecretFor(
  stateDir: string,
  env: Record<string, string | undefined> = process.env,
): string {
  const fromEnv = env.SLUICE_HOP_SECRET?.trim();
  if (fromEnv) return fromEnv;
  const file = join(stateDir, "hop-secret");
  try {
    const kept = readFileSync(file, "utf8").trim();
    if (kept.length >= 16) return kept;
  } catch {
    // first run in this state directory
  }
  const secret = randomBytes(32).toString("base64url");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
