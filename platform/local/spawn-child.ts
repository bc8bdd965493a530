import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { componentLaunch } from "../../common/prebuilt.ts";

// setpriv (util-linux) makes the kernel kill the child when we die, even by SIGKILL, so no
// component `sluice up` starts outlives it. Where it is missing, children still stop on our normal
// exit. Pods are different: they must outlive the autoscaler (spawn-pod-process.ts).
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

/**
 * Spawns `command args` so that it dies with this process. sluice's own entry points among the
 * arguments run from their prebuilt bundles when those are fresh, the data-path components with
 * their memory settings (common/prebuilt.ts).
 */
export function spawnChild(command: string, sourceArgs: string[], spawnOptions: SpawnOptions): ChildProcess {
  const { args, env } = componentLaunch(sourceArgs);
  const options = { ...spawnOptions, env: { ...(spawnOptions.env ?? process.env), ...env } };
  if (SETPRIV && process.platform === "linux") {
    return spawn(SETPRIV, ["--pdeathsig", "SIGKILL", "--", command, ...args], options);
  }
  return spawn(command, args, options);
}
