// A Knative-shaped Service object of serving.sluice.dev for tests against a control plane, the
// test app as its container (the test node runs test/fixtures/app.ts of this checkout), and the
// status fields the tests read.
import { SLUICE_GROUP } from "./sluice-crds.ts";

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ServiceObject {
  metadata: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    latestReadyRevisionName?: string;
    url?: string;
    traffic?: { revisionName?: string; percent?: number }[];
  };
}

export function readyCondition(object: ServiceObject | undefined): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === "Ready");
}

/** The test app (it answers "hello from <revision>"). */
export const appContainer = (version: string) => ({
  image: "node:24",
  command: ["node", "test/fixtures/app.ts"],
  env: [{ name: "VERSION", value: version }],
});

/** A Service with a 6 s window (the shortest: scale to zero comes soon) and optional traffic. */
export function serviceObject(namespace: string, name: string, containers: object[], traffic?: object[]) {
  return {
    apiVersion: `${SLUICE_GROUP}/v1`,
    kind: "Service",
    metadata: { name, namespace },
    spec: {
      template: {
        metadata: { annotations: { "autoscaling.knative.dev/window": "6s" } as Record<string, string> },
        spec: { containers },
      },
      ...(traffic ? { traffic } : {}),
    },
  };
}

/** A container that exits at once with code 3: a crash loop. */
export const crashingContainer = (why: string) => ({
  image: "node:24",
  command: ["node", "-e", `console.error(${JSON.stringify(why)}); process.exit(3)`],
});
