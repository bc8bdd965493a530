import { type ChildProcess, fork, spawn } from "node:child_process";

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
}
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

/** Forks a TypeScript entry point and waits for its IPC message of `type`. */
export function forkAndWait(entry: string, env: Record<string, string>, type = "listening"): Promise<Child> {
  const child = fork(entry, [], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start within 15 s\n${stderr}`)),
      15_000,
    );
    child.on("message", (message: Record<string, unknown>) => {
      if (message?.type !== type) return;
      clearTimeout(timer);
      resolve({ process: child, pid: child.pid as number, message, stop: stopper(child) });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}\n${stderr}`));
    });
  });
}

/** Spawns a program (nginx) that is ready when `ready()` says so. */
export async function spawnAndWait(
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
): Promise<Child> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const deadline = Date.now() + 10_000;
  while (!(await ready())) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`${command} did not become ready: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { process: child, pid: child.pid as number, message: {}, stop: stopper(child) };
}
