// Child processes of a benchmark: started, waited for, and always killed when the harness exits
// (normally, on an error, or on Ctrl-C / SIGTERM).
import { type ChildProcess, fork, spawn } from "node:child_process";
import { componentLaunch } from "../../common/prebuilt.ts";

const children = new Set<ChildProcess>();
const cleanups = new Set<() => void>();

function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
  for (const cleanup of cleanups) cleanup();
}
// "exit" also runs after an uncaught error or unhandled rejection has printed its message.
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface Child {
  process: ChildProcess;
  pid: number;
  /** The IPC message a forked child announced itself with ({} for spawned programs). */
  message: Record<string, unknown>;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
}

/** Runs `cleanup` (synchronous: removing a temp dir) when the harness exits, unless removed first. */
export function atExit(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Kills `child` if the harness exits before it does (for children started elsewhere: wrk). */
export function adopt(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Tracks a child and keeps the tail of its stderr for error messages. */
function track(child: ChildProcess): () => string {
  adopt(child);
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  return () => stderr.trim();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Forks a TypeScript entry point and waits for its IPC message of `type`. */
export function forkAndWait(entry: string, env: Record<string, string>, type = "listening"): Promise<Child> {
  const child = fork(entry, [], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  const stderr = track(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start within 15 s\n${stderr()}`)),
      15_000,
    );
    child.on("message", (message: Record<string, unknown>) => {
      if (message?.type !== type) return;
      clearTimeout(timer);
      resolve({ process: child, pid: child.pid as number, message, stop: stopper(child) });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}\n${stderr()}`));
    });
  });
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Polled every 50 ms until it says yes (see ready.ts: a port answers, a URL returns 200). */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
}

/**
 * Spawns a program (a `.ts` file runs on this Node) and waits until `ready()` says so; rejects with
 * the tail of its stderr if it exits or takes longer than the timeout (default 15 s). One of
 * sluice's components runs as the local platform runs it: from its prebuilt bundle when fresh, the
 * data path's with their memory settings (common/prebuilt.ts).
 */
export async function startAndWait(command: string, args: string[], options: StartOptions): Promise<Child> {
  const file = command.endsWith(".ts");
  const launch = file ? componentLaunch([command, ...args]) : { args, env: {} };
  const child = spawn(file ? process.execPath : command, launch.args, {
    env: { ...process.env, LOG_LEVEL: "warn", ...options.env, ...launch.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr = track(child);
  const stop = stopper(child);
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await options.ready())) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${command} exited with ${child.exitCode ?? child.signalCode}\n${stderr()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${command} was not ready within ${(options.timeoutMs ?? 15_000) / 1000} s\n${stderr()}`,
      );
    }
    await sleep(50);
  }
  return { process: child, pid: child.pid as number, message: {}, stop };
}
