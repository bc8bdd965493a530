import { request } from "undici";
import { type Started, startProcess, waitFor } from "./processes.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface RouterHandle extends Started {
  url: string;
  port: number;
  adminUrl: string;
  /** Waits until the router's table comes from the given state generation. */
  waitForGeneration(generation: number): Promise<void>;
  metrics(): Promise<string>;
}

export async function startRouter(
  t: Teardown,
  autoscalerUrl: string,
  env: Record<string, string> = {},
): Promise<RouterHandle> {
  const started = await startProcess(t, "router/main.ts", {
    ROUTER_PORT: "0",
    ROUTER_ADMIN_PORT: "0",
    AUTOSCALER_URL: autoscalerUrl,
    ACTIVATOR_URL: "http://127.0.0.1:1",
    ...env,
  });
  const port = started.message.port as number;
  const adminUrl = `http://127.0.0.1:${started.message.adminPort}`;
  const metrics = async () => (await request(`${adminUrl}/metrics`)).body.text();
  await waitFor("router ready", async () => (await request(`${adminUrl}/readyz`)).statusCode === 200);
  return {
    ...started,
    port,
    url: `http://127.0.0.1:${port}`,
    adminUrl,
    metrics,
    waitForGeneration: async (generation) => {
      await waitFor(`router table at generation ${generation}`, async () =>
        (await metrics()).includes(`sluice_router_state_generation ${generation}\n`),
      );
    },
  };
}
