import { readFileSync } from "node:fs";
import type { PodTemplate } from "../../platform/platform.ts";
import { ROOT } from "./processes.ts";

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
