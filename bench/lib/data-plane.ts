import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { type Child, forkAndWait } from "./children.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

export interface DataPlane {
  autoscaler: Child;
  activator: Child;
  autoscalerUrl: string;
  activatorUrl: string;
  apply(yaml: string): Promise<void>;
  stop(): Promise<void>;
}

/** The autoscaler (local platform) and an activator, on free loopback ports, for benchmarks. */
export async function startDataPlane(env: Record<string, string> = {}): Promise<DataPlane> {
  const autoscaler = await forkAndWait(`${root}autoscaler/main.ts`, {
    AUTOSCALER_PORT: "0",
    SLUICE_STATE_DIR: mkdtempSync(join(tmpdir(), "sluice-bench-")),
    AUTOSCALER_TICK_SECONDS: "0.25",
    SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
    ...env,
  });
  const autoscalerUrl = `http://127.0.0.1:${autoscaler.message.port}`;
  const activator = await forkAndWait(`${root}activator/main.ts`, {
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    AUTOSCALER_URL: autoscalerUrl,
    ACTIVATOR_STATS_INTERVAL_SECONDS: "0.25",
  });
  return {
    autoscaler,
    activator,
    autoscalerUrl,
    activatorUrl: `http://127.0.0.1:${activator.message.port}`,
    async apply(yaml) {
      const res = await request(`${autoscalerUrl}/v1/services`, {
        method: "PUT",
        body: yaml,
        headers: { "content-type": "application/yaml" },
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(text);
    },
    async stop() {
      activator.process.kill("SIGTERM");
      autoscaler.process.kill("SIGTERM");
      await Promise.all([
        new Promise((resolve) => activator.process.once("exit", resolve)),
        new Promise((resolve) => autoscaler.process.once("exit", resolve)),
      ]);
    },
  };
}

/** A Service manifest running the benchmark app. */
export function benchService(
  name: string,
  annotations: Record<string, string>,
  command = [process.execPath, `${root}bench/apps/hello.ts`],
): string {
  const lines = Object.entries(annotations).map(([key, value]) => `        ${key}: "${value}"`);
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    metadata:
      annotations:
${lines.join("\n")}
    spec:
      containers:
        - command: ${JSON.stringify(command)}
`;
}
