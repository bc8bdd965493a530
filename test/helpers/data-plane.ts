// The whole data plane as separate processes, as `sluice up` runs it: autoscaler (with the local
// platform), activator and router, on free loopback ports, with a short KPA window for tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import type { DataPlaneState } from "../../common/state.ts";
import { ROOT, startProcess, waitFor } from "./processes.ts";
import { type RouterHandle, startRouter } from "./router.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface DataPlane {
  autoscalerUrl: string;
  activatorUrl: string;
  router: RouterHandle;
  state(): Promise<DataPlaneState>;
}

/** A Service manifest running test/fixtures/app.ts, scaled to zero, with a 6 s window. */
export function fixtureService(name: string, { cc = 0, maxScale = 3, annotations = "" } = {}): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/window: "6s"
        autoscaling.knative.dev/initial-scale: "0"
        autoscaling.knative.dev/max-scale: "${maxScale}"${annotations}
    spec:
      containerConcurrency: ${cc}
      timeoutSeconds: 60
      containers:
        - command: ["${process.execPath}", "${ROOT}test/fixtures/app.ts"]
`;
}

export async function startDataPlane(t: Teardown, services: string): Promise<DataPlane> {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-plane-"));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const autoscaler = await startProcess(t, "autoscaler/main.ts", {
    AUTOSCALER_PORT: "0",
    SLUICE_STATE_DIR: stateDir,
    AUTOSCALER_TICK_SECONDS: "0.25",
    SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
  });
  const autoscalerUrl = `http://127.0.0.1:${autoscaler.message.port}`;
  const applied = await request(`${autoscalerUrl}/v1/services`, { method: "PUT", body: services });
  if (applied.statusCode !== 200) throw new Error(await applied.body.text());
  await applied.body.dump();
  const activator = await startProcess(t, "activator/main.ts", {
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    AUTOSCALER_URL: autoscalerUrl,
    ACTIVATOR_STATS_INTERVAL_SECONDS: "0.25",
  });
  const activatorUrl = `http://127.0.0.1:${activator.message.port}`;
  const activatorAdmin = `http://127.0.0.1:${activator.message.adminPort}`;
  await waitFor(
    "activator ready",
    async () => (await request(`${activatorAdmin}/readyz`)).statusCode === 200,
  );
  const router = await startRouter(t, autoscalerUrl, { ACTIVATOR_URL: activatorUrl });
  return {
    autoscalerUrl,
    activatorUrl,
    router,
    state: async () => (await (await request(`${autoscalerUrl}/v1/state`)).body.json()) as DataPlaneState,
  };
}
