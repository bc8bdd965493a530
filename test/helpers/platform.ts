import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PodTemplate } from "../../platform/platform.ts";
import { ROOT } from "./processes.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A pod template that runs the test app (test/fixtures/app.ts). */
export function appTemplate(revision: string, overrides: Partial<PodTemplate> = {}): PodTemplate {
  return {
    service: "svc",
    namespace: "default",
    configuration: "svc",
    revision,
    containerConcurrency: 0,
    timeoutSeconds: 30,
    command: [process.execPath, `${ROOT}test/fixtures/app.ts`],
    args: [],
    env: {},
    protocol: "http1",
    ...overrides,
  };
}

/** A temporary state dir, removed when the test ends (which also ends any pod orphaned in it). */
export function tempStateDir(t: Teardown, prefix = "sluice-platform-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Whether a process is still running (a zombie waiting to be reaped counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Kills processes a test may have left behind (pods outlive a SIGKILLed platform on purpose). */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
