// A self-signed certificate for TLS tests, made with openssl in a temporary directory.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Whether openssl is on PATH (testCertificate needs it). */
export function haveOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** PEM files of a one-day certificate for `commonName` and its key; removed when the test ends. */
export function testCertificate(t: Teardown, commonName: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "sluice-tls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      `/CN=${commonName}`,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}
