// `sluice up` for the observability tests: files written to a temporary directory, free ports, a
// temporary state directory, fast autoscaling; only the URLs of its banner are read (the
// processes themselves are found through the autoscaler's discovery endpoint, which is the point).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";
import { FAST_AUTOSCALING } from "../helpers/sluice-up.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface UpUrls {
  /** The URL printed on the banner line that starts with `name` (router, prometheus, …). */
  url(name: string): string | undefined;
  routerUrl: string;
  autoscalerUrl: string;
  activatorUrl: string;
  output: () => string;
}

/** Runs `sluice up -f <files> <flags>` on free ports with `env`; resolves with its URLs once the banner is out. */
export async function sluiceUp(
  t: Teardown,
  files: string[],
  env: Record<string, string>,
  flags: string[] = [],
): Promise<UpUrls> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-observability-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    "cli/main.ts",
    "up",
    "--state-dir",
    join(dir, "state"),
    "--router-port",
    "0",
    "--autoscaler-port",
    "0",
  ];
  files.forEach((text, i) => {
    const file = join(dir, `service-${i}.yaml`);
    writeFileSync(file, text);
    args.push("-f", file);
  });
  args.push(...flags);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...FAST_AUTOSCALING,
      ...env,
      PATH: `${join(process.execPath, "..")}:${process.env.PATH}`,
    },
  });
  const watched = watchChild(t, child);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([watched.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
  });
  const banner = await waitFor(
    "the sluice up banner",
    () => {
      if (child.exitCode !== null)
        throw new Error(`sluice up exited ${child.exitCode}:\n${watched.output()}`);
      return watched.output().includes("Ctrl-C stops everything") ? watched.output() : undefined;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );
  const url = (name: string) => {
    const found = new RegExp(`^\\s*${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`, "m").exec(banner)?.[1];
    if (!found) throw new Error(`no ${name} URL in the banner:\n${banner}`);
    return found;
  };
  return {
    url: (name) => new RegExp(`^\\s*${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`, "m").exec(banner)?.[1],
    routerUrl: url("router"),
    autoscalerUrl: url("autoscaler"),
    activatorUrl: url("activator"),
    output: watched.output,
  };
}
