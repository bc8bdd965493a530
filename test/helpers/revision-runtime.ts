// Revision runtimes for the controller's pure pieces, without a store or a platform.
import { loadConfig } from "../../autoscaler/config.ts";
import { createRuntime, type RevisionRuntime } from "../../autoscaler/revision-runtime.ts";
import type { ServiceEntry } from "../../autoscaler/service-entry.ts";
import type { ServiceManifest } from "../../serving/manifest.ts";

export function manifestOf(
  name: string,
  { namespace = "default", annotations = {} as Record<string, string>, traffic = undefined as unknown } = {},
): ServiceManifest {
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: {
      template: { metadata: { annotations }, spec: { containers: [{ command: ["node", "app.ts"] }] } },
      ...(traffic ? { traffic } : {}),
    },
  } as ServiceManifest;
}

/** The `sequence`th revision of `manifest`'s service, ready at `readyAt` when given. */
export function runtimeOf(manifest: ServiceManifest, sequence: number, readyAt?: number): RevisionRuntime {
  const service = manifest.metadata.name;
  return createRuntime(
    {
      name: `${service}-${String(sequence).padStart(5, "0")}`,
      service,
      namespace: manifest.metadata.namespace ?? "default",
      sequence,
      templateHash: `h${sequence}`,
      template: manifest.spec.template,
      createdAt: sequence,
      ...(readyAt === undefined ? {} : { readyAt }),
    },
    loadConfig({}),
  );
}

/** A service table entry with `count` revisions (all ready). */
export function entryOf(manifest: ServiceManifest, count: number, active = true): ServiceEntry {
  return {
    manifest,
    revisions: Array.from({ length: count }, (_, i) => runtimeOf(manifest, i + 1, i + 1)),
    active,
  };
}
