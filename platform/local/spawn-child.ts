import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";

// setpriv (util-linux) makes the kernel kill the child when we die, even by SIGKILL, so no
// component `sluice up` starts outlives it. Where it is missing, children still stop on our normal
// exit. Pods are different: they must outlive the autoscaler (spawn-pod-process.ts).
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

/** Spawns `command args` so that it dies with this process. */
export function spawnChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  if (SETPRIV && process.platform === "linux") {
    return spawn(SETPRIV, ["--pdeathsig", "SIGKILL", "--", command, ...args], options);
  }
  return spawn(command, args, options);
}
