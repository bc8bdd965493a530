// A real nats-server with JetStream for tests: on 127.0.0.1 with a port the server picks itself
// (`-p -1`, read back from its log), a store in a fresh temp directory, stopped and removed when
// the test ends. The binary is scripts/tools/build.sh's (`nats-server` from the Go module proxy).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { skipUnlessTool } from "./required-tool.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function natsServerPath(): string {
  return join(process.env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice"), "bin", "nats-server");
}

/** The `skip` option for a test needing nats-server (fails under CI=true, as required-tool.ts does). */
export function skipUnlessNats(): string | false {
  return skipUnlessTool("nats-server", existsSync(natsServerPath()), "scripts/tools/build.sh nats-server");
}

export interface NatsServer {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
}

/** Starts nats-server with JetStream; resolves once it says it is ready. */
export async function startNats(t: Teardown, { timeoutMs = 15_000 } = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-nats-"));
  const child = spawn(natsServerPath(), ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`nats-server did not start in time:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk;
      const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(output);
      if (listening && output.includes("Server is ready")) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before it was ready:\n${output}`));
    });
  });
  return { url: `nats://127.0.0.1:${port}`, port, child, output: () => output };
}
