// The nats-server `sluice up` runs when the files hold Eventing resources: JetStream on, its store
// under the state directory (so stored events outlive a restart of sluice up, as the Broker
// promises), loopback only, a port it picks itself. Found on PATH or where
// scripts/tools/build.sh puts it; `--nats URL` uses a running one instead.
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { type RunningTool, runTool } from "./observability-tools.ts";

export const NATS_MISSING =
  "nats-server not found (Eventing resources need it): build it with scripts/tools/build.sh nats-server " +
  "(it goes to ~/.cache/sluice/bin), install it on PATH, or give --nats URL of a running server with JetStream";

/** SLUICE_NATS_SERVER, else nats-server on PATH, else scripts/tools/build.sh's; undefined when none. */
export function natsServerPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLUICE_NATS_SERVER) return existsSync(env.SLUICE_NATS_SERVER) ? env.SLUICE_NATS_SERVER : undefined;
  const dirs = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  const cache = join(env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice"), "bin");
  return [...dirs, cache].map((dir) => join(dir, "nats-server")).find((path) => existsSync(path));
}

export interface RunningNats extends RunningTool {
  /** nats://127.0.0.1:port, for the eventing component's NATS_URL. */
  natsUrl: string;
}

/** Starts nats-server with JetStream and its store in `storeDir`; resolves once it is ready. */
export async function startNatsServer(binary: string, storeDir: string): Promise<RunningNats> {
  mkdirSync(storeDir, { recursive: true });
  // -p -1: a free port chosen by the server itself (read back from its log, no race).
  const tool = runTool("nats-server", binary, ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", storeDir], "");
  await tool.ready(async () => tool.output().includes("Server is ready"));
  const port = /Listening for client connections on [^\s]+:(\d+)/.exec(tool.output())?.[1];
  if (port === undefined) throw new Error(`nats-server did not say its port:\n${tool.output()}`);
  const natsUrl = `nats://127.0.0.1:${port}`;
  return { ...tool, url: natsUrl, natsUrl };
}
