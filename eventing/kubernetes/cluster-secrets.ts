import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { isStatus } from "../../platform/kubernetes/api-status.ts";
import type { GitHubSourceManifest, SourceManifest } from "../resources/source-manifest.ts";
import { secretId } from "../sources/secrets.ts";
import { resourceId } from "./kinds.ts";

// GitHubSources' secretToken on Kubernetes: spec.secretToken.secretKeyRef names a Secret in the
// source's own namespace (as Knative's GitHubSource reads it), read with get by name (the chart's
// RBAC gives get on secrets, nothing else: no list, no watch). Read on every apply, so a Secret
// created after its source is picked up by the retry that follows (the source is NotRunning
// meanwhile, saying which Secret and key are missing).

export interface SecretsRead {
  /** By secretId(namespace, ref). */
  values: Map<string, string>;
  /** By source id ("GitHubSource demo/repo"): why its secret could not be read. */
  problems: Map<string, string>;
}

export type ReadSecrets = (sources: readonly SourceManifest[]) => Promise<SecretsRead>;

export function clusterSecretReader(kubeConfig: KubeConfig): ReadSecrets {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return async (sources) => {
    const read: SecretsRead = { values: new Map(), problems: new Map() };
    for (const source of sources) {
      if (source.kind !== "GitHubSource") continue;
      const namespace = source.metadata.namespace ?? "default";
      const id = resourceId(source.kind, namespace, source.metadata.name);
      const ref = (source as GitHubSourceManifest).spec.secretToken.secretKeyRef;
      if (!ref) {
        read.problems.set(id, "secretToken: no secretKeyRef");
        continue;
      }
      const where = `Secret "${ref.name}" in namespace "${namespace}"`;
      try {
        const secret = await core.readNamespacedSecret({ name: ref.name, namespace });
        const data = secret.data?.[ref.key];
        if (data === undefined || data === "")
          read.problems.set(id, `secretToken: ${where} has no key "${ref.key}"`);
        else read.values.set(secretId(namespace, ref), Buffer.from(data, "base64").toString("utf8"));
      } catch (error) {
        read.problems.set(
          id,
          isStatus(error, 404)
            ? `secretToken: ${where} not found`
            : isStatus(error, 403)
              ? `secretToken: ${where} cannot be read (403: the chart's eventing RBAC gives get on secrets)`
              : `secretToken: ${where}: ${(error as Error).message}`,
        );
      }
    }
    return read;
  };
}
