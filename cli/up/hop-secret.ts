import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MIN_HOP_SECRET_LENGTH } from "../../common/hop-auth.ts";

/**
 * The installation's hop secret for `sluice up`: SLUICE_HOP_SECRET if set, else the one kept in
 * the state directory, else a new random one written there (owner-only). Kept rather than new per
 * run because pods outlive a restart and are re-adopted: their queue-proxies know the old secret.
 * A kept file readable by others (copied, restored from a backup, made by hand) is made owner-only
 * again before it is used.
 */
export function hopSecretFor(
  stateDir: string,
  env: Record<string, string | undefined> = process.env,
): string {
  const fromEnv = env.SLUICE_HOP_SECRET?.trim();
  if (fromEnv) return fromEnv;
  const file = join(stateDir, "hop-secret");
  let kept = "";
  try {
    kept = readFileSync(file, "utf8").trim();
  } catch {
    // first run in this state directory
  }
  if (kept.length >= MIN_HOP_SECRET_LENGTH) {
    ownerOnly(file);
    return kept;
  }
  const secret = randomBytes(32).toString("base64url");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  ownerOnly(file); // the mode above applies only when the file is created
  return secret;
}

/** Takes group and other permissions off `file` (a throw here says why the secret is unsafe). */
function ownerOnly(file: string): void {
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}
