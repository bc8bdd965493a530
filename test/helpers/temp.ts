import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A temporary directory, removed when the test ends. */
export function tempDir(t: Teardown, prefix = "sluice-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The path of `name` in a temporary directory removed when the test ends (nothing written yet). */
export function tempPath(t: Teardown, name: string, prefix?: string): string {
  return join(tempDir(t, prefix), name);
}
