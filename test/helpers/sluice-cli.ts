// Running the sluice command (cli/main.ts) as a child process, as a user would.
import { execFile } from "node:child_process";
import { ROOT } from "./processes.ts";

export interface SluiceResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sluice …args` and resolves with its exit code and output; `env` adds to this process's. */
export function sluice(
  args: string[],
  { timeoutMs = 20_000, cwd = ROOT, env = {} as Record<string, string> } = {},
): Promise<SluiceResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${ROOT}cli/main.ts`, ...args],
      { timeout: timeoutMs, cwd, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : -1, stdout, stderr });
      },
    );
  });
}
