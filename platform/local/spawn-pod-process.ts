import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { componentLaunch } from "../../common/prebuilt.ts";

export interface PodProcessOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Files the process's stdout and stderr are appended to (may be the same file). */
  stdout: string;
  stderr: string;
}

/**
 * Starts one process of a pod so that it outlives the platform: in its own session and process
 * group (no terminal signal and no parent-death signal reaches it; the platform stops it itself),
 * with its output appended to files rather than piped (a pipe would break when the platform dies).
 * Unlike spawn-child.ts, which ties sluice's own components to their parent. sluice's own entry
 * points among the arguments (the queue-proxy, the pod guard) run from their prebuilt bundles when
 * those are fresh, the queue-proxy with the data path's memory settings (common/prebuilt.ts).
 */
export function spawnPodProcess(command: string, args: string[], options: PodProcessOptions): ChildProcess {
  const stdout = openSync(options.stdout, "a");
  const stderr = options.stderr === options.stdout ? stdout : openSync(options.stderr, "a");
  // sluice's own entry points (the queue-proxy, the pod guard): bundles, memory settings.
  const launch = componentLaunch(args);
  try {
    return spawn(command, launch.args, {
      cwd: options.cwd,
      env: { ...options.env, ...launch.env },
      detached: true,
      stdio: ["ignore", stdout, stderr],
    });
  } finally {
    closeSync(stdout);
    if (stderr !== stdout) closeSync(stderr);
  }
}
