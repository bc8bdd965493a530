import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PodRecord } from "../../platform/local/pod-registry.ts";
import type { PodTemplate } from "../../platform/platform.ts";
import { ROOT } from "./processes.ts";
import { tempDir } from "./temp.ts";

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
  return tempDir(t, prefix);
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

/** The pods the local platform has recorded in the state dir (a record being written is passed over). */
export function recordedPods(stateDir: string): PodRecord[] {
  const dir = join(stateDir, "pods");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      try {
        return [JSON.parse(readFileSync(join(dir, entry.name, "pod.json"), "utf8")) as PodRecord];
      } catch {
        return [];
      }
    });
}

/** The process ids of recorded pods: each app's, and its queue-proxy's when it has one. */
export const podPids = (records: PodRecord[]) =>
  records.flatMap((record) => [record.app.pid, record.queueProxy?.pid ?? 0]).filter((pid) => pid > 0);
