// The whole data plane as separate processes, as `sluice up` runs it: autoscaler (with the local
// platform), activator and router, on free loopback ports, with a short KPA window for tests.
import { request } from "undici";
import { type AutoscalerHandle, appService, startAutoscaler } from "./autoscaler.ts";
import { type Started, startProcess, waitFor } from "./processes.ts";
import { type RouterHandle, startRouter } from "./router.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ActivatorHandle {
  proc: Started;
  url: string;
  adminUrl: string;
}

export interface DataPlane {
  autoscaler: AutoscalerHandle;
  activator: ActivatorHandle;
  router: RouterHandle;
}

/** A Service running test/fixtures/app.ts that starts at zero pods, with a 6 s window. */
export function fixtureService(
  name: string,
  {
    cc = 0,
    maxScale = 3,
    timeoutSeconds = 60,
    annotations = [] as string[],
    command = undefined as string | undefined,
  } = {},
): string {
  return appService(name, {
    containerConcurrency: cc,
    timeoutSeconds,
    annotations: [
      'autoscaling.knative.dev/initial-scale: "0"',
      `autoscaling.knative.dev/max-scale: "${maxScale}"`,
      ...annotations,
    ],
    ...(command ? { command } : {}),
  });
}

export async function startActivator(t: Teardown, autoscalerUrl: string): Promise<ActivatorHandle> {
  const proc = await startProcess(t, "activator/main.ts", {
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    AUTOSCALER_URL: autoscalerUrl,
    ACTIVATOR_STATS_INTERVAL_SECONDS: "0.25",
  });
  const adminUrl = `http://127.0.0.1:${proc.message.adminPort}`;
  await waitFor("activator ready", async () => (await request(`${adminUrl}/readyz`)).statusCode === 200);
  return { proc, url: `http://127.0.0.1:${proc.message.port}`, adminUrl };
}

/** Autoscaler with `services` applied, an activator, and (unless `router: false`) a router. */
export async function startDataPlane(t: Teardown, services: string): Promise<DataPlane> {
  const autoscaler = await startAutoscaler(t);
  await autoscaler.apply(services);
  const activator = await startActivator(t, autoscaler.url);
  const router = await startRouter(t, autoscaler.url, { ACTIVATOR_URL: activator.url });
  return { autoscaler, activator, router };
}
