import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { hopSecretFor } from "../../cli/up/hop-secret.ts";

t.test("sluice up keeps one hop secret per state directory (re-adopted pods know it)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-hop-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stateDir = join(dir, ".sluice");
  const first = hopSecretFor(stateDir, {});
  t.ok(first.length >= 40, "random, long");
  t.equal(statSync(join(stateDir, "hop-secret")).mode & 0o777, 0o600, "owner-only");
  t.equal(hopSecretFor(stateDir, {}), first, "the same next time");
  t.equal(readFileSync(join(stateDir, "hop-secret"), "utf8").trim(), first);
  t.equal(hopSecretFor(stateDir, { SLUICE_HOP_SECRET: "from-the-environment" }), "from-the-environment");
});
