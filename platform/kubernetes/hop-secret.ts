import type { V1Secret } from "@kubernetes/client-node";
import { isStatus } from "./api-status.ts";
import type { KubeClient } from "./kube-client.ts";
import { MANAGED_BY } from "./names.ts";

/**
 * The hop secret in a namespace sluice runs revisions in: a queue-proxy can read a Secret of its
 * own namespace only, so the controller keeps a copy of SLUICE_HOP_SECRET (its own environment's,
 * the one router and activator read) in each, and the revision Deployments refer to it.
 */
export const HOP_SECRET = { name: "sluice-hop-secret", key: "hop-secret" } as const;

export function hopSecretObject(namespace: string, value: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: HOP_SECRET.name, namespace, labels: { ...MANAGED_BY } },
    type: "Opaque",
    data: { [HOP_SECRET.key]: Buffer.from(value).toString("base64") },
  };
}

/** Creates the namespace's copy, or rewrites it when it holds another value (a rotated secret). */
export async function ensureHopSecret(client: KubeClient, namespace: string, value: string): Promise<void> {
  const desired = hopSecretObject(namespace, value);
  const current = await client.getSecret(namespace, HOP_SECRET.name);
  if (!current) {
    try {
      await client.createSecret(desired);
    } catch (error) {
      // Two revisions of the namespace reconciled at once: the other one made it.
      if (!isStatus(error, 409)) throw error;
    }
    return;
  }
  if (current.data?.[HOP_SECRET.key] === desired.data?.[HOP_SECRET.key]) return;
  await client.updateSecret(namespace, HOP_SECRET.name, (secret) =>
    secret.data?.[HOP_SECRET.key] === desired.data?.[HOP_SECRET.key]
      ? undefined
      : { ...secret, data: { ...secret.data, ...desired.data } },
  );
}
