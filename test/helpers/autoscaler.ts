// A real autoscaler (autoscaler/main.ts with the local platform) on a free port, its state in a
// temporary directory, and a Service file for it that runs the test app (test/fixtures/app.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import type { DataPlaneState } from "../../common/state.ts";
import type { StatusSnapshot } from "../../common/status.ts";
import { ROOT, type Started, startProcess } from "./processes.ts";
import { serviceYaml } from "./service-yaml.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface AutoscalerHandle {
  proc: Started;
  url: string;
  /** Headers for its API: the bearer token when the test gave it SLUICE_TOKEN. */
  headers: Record<string, string>;
  state(): Promise<DataPlaneState>;
  status(): Promise<StatusSnapshot>;
  /** PUT /v1/services; throws with the autoscaler's answer unless it is 200. */
  apply(manifests: string): Promise<void>;
}

/**
 * A Service running the test app (or `command`, a YAML flow list's inside); `annotations` and
 * `traffic` are YAML lines added as they are.
 */
export function appService(
  name: string,
  {
    annotations = [] as string[],
    containerConcurrency = 0,
    version = "v1",
    traffic = "",
    timeoutSeconds = 300,
    command = `"${process.execPath}", "${ROOT}test/fixtures/app.ts"`,
  } = {},
): string {
  return serviceYaml(name, {
    annotations: ['autoscaling.knative.dev/window: "6s"', ...annotations],
    containerConcurrency,
    timeoutSeconds,
    command,
    env: { VERSION: `"${version}"` },
    traffic,
  });
}

export async function startAutoscaler(
  t: Teardown,
  env: Record<string, string> = {},
): Promise<AutoscalerHandle> {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-autoscaler-"));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const proc = await startProcess(t, "autoscaler/main.ts", {
    AUTOSCALER_PORT: "0",
    SLUICE_STATE_DIR: stateDir,
    AUTOSCALER_TICK_SECONDS: "0.25",
    SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
    ...env,
  });
  const url = `http://127.0.0.1:${proc.message.port}`;
  const headers: Record<string, string> = env.SLUICE_TOKEN
    ? { authorization: `Bearer ${env.SLUICE_TOKEN}` }
    : {};
  const json = async <T>(path: string) =>
    (await (await request(`${url}${path}`, { headers })).body.json()) as T;
  return {
    proc,
    url,
    headers,
    state: () => json<DataPlaneState>("/v1/state"),
    status: () => json<StatusSnapshot>("/v1/status"),
    apply: async (manifests) => {
      const res = await request(`${url}/v1/services`, {
        method: "PUT",
        body: manifests,
        headers: { ...headers, "content-type": "application/yaml" },
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`apply: ${res.statusCode} ${text}`);
    },
  };
}
