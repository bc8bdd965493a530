import { request } from "undici";
import type { PodStats } from "../../common/pod-stats.ts";
import { type Started, startProcess, waitFor } from "./processes.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface AppHandle extends Started {
  port: number;
  url: string;
  /** The app's own view: requests in flight now, the most ever, and those the client abandoned. */
  state(): Promise<{
    inFlight: number;
    maxInFlight: number;
    aborted: number;
    held: number;
    requestsByPath: Record<string, number>;
  }>;
  release(): Promise<number>;
}

export async function startApp(t: Teardown, env: Record<string, string> = {}): Promise<AppHandle> {
  const started = await startProcess(t, "test/fixtures/app.ts", { PORT: "0", ...env });
  const port = started.message.port as number;
  const url = `http://127.0.0.1:${port}`;
  return {
    ...started,
    port,
    url,
    state: async () => (await request(`${url}/_state`)).body.json() as never,
    release: async () => Number(await (await request(`${url}/_release`)).body.text()),
  };
}

export interface QueueProxyHandle extends Started {
  url: string;
  adminUrl: string;
  stats(): Promise<PodStats>;
  /** Waits until nothing is in flight or queued: no slot leaked. */
  settled(): Promise<PodStats>;
}

export async function startQueueProxy(
  t: Teardown,
  userPort: number,
  env: Record<string, string> = {},
  { waitReady = true } = {},
): Promise<QueueProxyHandle> {
  const started = await startProcess(t, "queue-proxy/main.ts", {
    USER_PORT: String(userPort),
    QUEUE_SERVING_PORT: "0",
    QUEUE_ADMIN_PORT: "0",
    QUEUE_METRICS_PORT: "-1",
    SERVING_REVISION: "test-00001",
    SERVING_SERVICE: "test",
    ...env,
  });
  const url = `http://127.0.0.1:${started.message.servingPort}`;
  const adminUrl = `http://127.0.0.1:${started.message.adminPort}`;
  const stats = async () => (await request(`${adminUrl}/stats`)).body.json() as Promise<PodStats>;
  if (waitReady) {
    await waitFor("queue-proxy ready", async () => (await request(`${adminUrl}/readyz`)).statusCode === 200);
  }
  return {
    ...started,
    url,
    adminUrl,
    stats,
    settled: async () => {
      const settled = await waitFor("queue-proxy to settle", async () => {
        const current = await stats();
        return current.inFlight === 0 && current.queued === 0 ? current : undefined;
      });
      return settled as PodStats;
    },
  };
}
