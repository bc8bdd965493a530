import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { hopSecretFor } from "../../cli/up/hop-secret.ts";
import { tempDir } from "../helpers/temp.ts";

t.test("sluice up keeps one hop secret per state directory (re-adopted pods know it)", async (t) => {
  const dir = tempDir(t, "sluice-hop-");
  const stateDir = join(dir, ".sluice");
  const first = hopSecretFor(stateDir, {});
  t.ok(first.length >= 40, "random, long");
  t.equal(statSync(join(stateDir, "hop-secret")).mode & 0o777, 0o600, "owner-only");
  t.equal(hopSecretFor(stateDir, {}), first, "the same next time");
  t.equal(readFileSync(join(stateDir, "hop-secret"), "utf8").trim(), first);
  t.equal(hopSecretFor(stateDir, { SLUICE_HOP_SECRET: "from-the-environment" }), "from-the-environment");
});

t.test("a kept hop secret readable by others is made owner-only again", async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-hop-"));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const file = join(stateDir, "hop-secret");
  writeFileSync(file, "kept-secret-0123456789\n", { mode: 0o644 });
  chmodSync(file, 0o644); // whatever the umask
  t.equal(hopSecretFor(stateDir, {}), "kept-secret-0123456789", "kept");
  t.equal(statSync(file).mode & 0o777, 0o600, "owner-only now");

  // Too short to keep: replaced, and owner-only although the file already existed.
  writeFileSync(file, "short\n");
  chmodSync(file, 0o666);
  const replaced = hopSecretFor(stateDir, {});
  t.ok(replaced.length >= 40, "a new random one");
  t.equal(statSync(file).mode & 0o777, 0o600, "owner-only too");
});
