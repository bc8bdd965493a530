// Starting real processes for tests: each reports its ports over IPC, is waited for by condition
// (never by sleeping), and is killed when the test ends.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The hop secret every process a test starts shares (as `sluice up` hands one to each component). */
export const TEST_HOP_SECRET = "test-hop-secret-0123456789";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Started {
  child: ChildProcess;
  message: Record<string, unknown>;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Collects a child's output and kills it (if still running) when the test ends. */
export function watchChild(
  t: Teardown,
  child: ChildProcess,
): { output: () => string; exited: Promise<number | null> } {
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { output: () => output, exited };
}

/** Forks a TypeScript entry point and waits for its {type: "listening"} IPC message. */
export async function startProcess(
  t: Teardown,
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 15_000 } = {},
): Promise<Started> {
  const child = fork(`${ROOT}${entry}`, [], {
    env: {
      ...process.env,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      SLUICE_HOP_SECRET: TEST_HOP_SECRET,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const { output: collected, exited } = watchChild(t, child);
  const message = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start in time:\n${collected()}`)),
      timeoutMs,
    );
    child.on("message", (msg: Record<string, unknown>) => {
      if (msg?.type === "listening") {
        clearTimeout(timer);
        resolve(msg);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before listening:\n${collected()}`));
    });
  });
  return { child, message, output: collected, exited };
}

/** Polls `check` until it returns a truthy value; fails with `what` after the bound. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  { timeoutMs = 10_000, everyMs = 20 } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}
