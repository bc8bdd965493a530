import { createHash } from "node:crypto";
import type { RevisionTemplate, ServiceManifest } from "./manifest.ts";

/** An immutable snapshot of a Service's template. */
export interface Revision {
  name: string;
  service: string;
  namespace: string;
  /** 1, 2, 3… per service: the order revisions were created in. */
  sequence: number;
  templateHash: string;
  template: RevisionTemplate;
  createdAt: number;
}

/** JSON with keys in a fixed order, so equal templates hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function templateHash(template: RevisionTemplate): string {
  return createHash("sha256").update(canonicalJson(template)).digest("hex").slice(0, 16);
}

export function revisionName(service: string, sequence: number): string {
  return `${service}-${String(sequence).padStart(5, "0")}`;
}

/**
 * The revision a Service's current template corresponds to: the latest one when the template has
 * not changed since, otherwise a new one ({service}-0000N, or template.metadata.name).
 * `history` is the service's revisions, oldest first.
 */
export function revisionFor(
  manifest: ServiceManifest,
  history: readonly Revision[],
  now: number,
): { revision: Revision; created: boolean } | { error: string } {
  const service = manifest.metadata.name;
  const namespace = manifest.metadata.namespace ?? "default";
  const hash = templateHash(manifest.spec.template);
  const latest = history.at(-1);
  const requestedName = manifest.spec.template.metadata?.name;
  if (
    latest &&
    latest.templateHash === hash &&
    (requestedName === undefined || requestedName === latest.name)
  ) {
    return { revision: latest, created: false };
  }
  if (requestedName !== undefined) {
    const existing = history.find((revision) => revision.name === requestedName);
    if (existing) {
      if (existing.templateHash === hash) return { revision: existing, created: false };
      return {
        error: `spec.template.metadata.name: revision ${requestedName} already exists with a different template; revisions are immutable, choose a new name`,
      };
    }
    if (!requestedName.startsWith(`${service}-`)) {
      return { error: `spec.template.metadata.name: must start with "${service}-" (Knative's rule)` };
    }
  }
  const sequence = (latest?.sequence ?? 0) + 1;
  return {
    revision: {
      name: requestedName ?? revisionName(service, sequence),
      service,
      namespace,
      sequence,
      templateHash: hash,
      template: manifest.spec.template,
      createdAt: now,
    },
    created: true,
  };
}
