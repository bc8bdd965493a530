import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretKeySelector } from "../resources/source-manifest.ts";

// A Kubernetes secretKeyRef, read locally. There is no API server to ask, so a secret's key is
//   1. the environment variable SLUICE_SECRET_{NAME}_{KEY} (upper-cased, other characters → _),
//   2. else the file {EVENTING_SECRETS_DIR}/{name}/{key}: the layout of a Secret mounted as a
//      volume, one directory per Secret, so the same files serve a pod in a cluster.
// Read once at start-up: a missing secret stops the process with its name, not the first event.
// On Kubernetes the Secret is the API server's, in the source's namespace: eventing/kubernetes/
// reads it there and hands the values in (ClusterSecrets), which win over both.

/** Secrets read from the API server (Kubernetes mode), by secretId(namespace, ref). */
export type ClusterSecrets = ReadonlyMap<string, string>;

/** A secret key in a namespace: "demo/gh/secret". */
export function secretId(namespace: string, ref: SecretKeySelector): string {
  return `${namespace}/${ref.name}/${ref.key}`;
}

export function secretEnvName(ref: SecretKeySelector): string {
  return `SLUICE_SECRET_${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

export function readSecret(
  ref: SecretKeySelector,
  env: Readonly<Record<string, string | undefined>>,
  secretsDir: string | undefined,
): { value: string } | { problem: string } {
  const fromEnv = env[secretEnvName(ref)];
  if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv };
  const where = [`$${secretEnvName(ref)}`];
  if (secretsDir !== undefined) {
    const file = join(secretsDir, ref.name, ref.key);
    try {
      // A mounted secret file often ends with the newline an editor or `echo` added.
      const value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      if (value !== "") return { value };
    } catch {
      // not there: said below
    }
    where.push(file);
  }
  return { problem: `secret "${ref.name}" key "${ref.key}" not found (looked in ${where.join(" and ")})` };
}
