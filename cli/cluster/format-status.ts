// The `sluice status` table for a cluster, from the Service and Revision statuses the controller
// writes: a line per Service (URL, Ready, latest created and ready revisions), a line per revision
// (traffic, tags, Ready, replicas), then why whatever is not ready is not.
import type { Condition } from "../../platform/kubernetes/conditions.ts";
import type { ServiceEntry } from "./read-status.ts";

function table(rows: string[][], right: readonly boolean[]): string[] {
  const widths = rows[0].map((_, index) => Math.max(...rows.map((row) => row[index].length)));
  return rows.map((row) =>
    row
      .map((cell, index) => (right[index] ? cell.padStart(widths[index]) : cell.padEnd(widths[index])))
      .join("  ")
      .trimEnd(),
  );
}

function ready(conditions: readonly Condition[] | undefined): Condition | undefined {
  return conditions?.find((condition) => condition.type === "Ready");
}

/** "Ready False: RevisionFailed: Revision "x" failed: …": a Ready condition not True, with why. */
function why(condition: Condition): string {
  return [`Ready ${condition.status}`, condition.reason, condition.message].filter(Boolean).join(": ");
}

/** `hello`, or `staging/hello` outside the default namespace (as the local status shows it). */
function serviceLabel(service: ServiceEntry, allNamespaces: boolean): string {
  return service.namespace === "default" && !allNamespaces
    ? service.name
    : `${service.namespace}/${service.name}`;
}

/** The table for `services` (of `where`, e.g. "namespace default"), ending with a newline. */
export function formatClusterStatus(
  services: readonly ServiceEntry[],
  where: string,
  allNamespaces = false,
): string {
  if (services.length === 0)
    return `no services in ${where} — sluice apply -f service.yaml (with the same cluster options)\n`;
  const serviceRows = [["SERVICE", "URL", "READY", "LATEST CREATED", "LATEST READY"]];
  const revisionRows = [["SERVICE", "REVISION", "TRAFFIC", "TAGS", "READY", "DESIRED", "ACTUAL"]];
  const notes: string[] = [];
  for (const service of services) {
    const label = serviceLabel(service, allNamespaces);
    const status = service.status;
    const serviceReady = ready(status?.conditions);
    serviceRows.push([
      label,
      status?.url ?? "-",
      serviceReady?.status ?? "-",
      status?.latestCreatedRevisionName ?? "-",
      status?.latestReadyRevisionName ?? "-",
    ]);
    if (!status?.conditions) notes.push(`${label}: no status yet; is the sluice controller running?`);
    else if (serviceReady && serviceReady.status !== "True") notes.push(`${label}: ${why(serviceReady)}`);
    if (status && (status.observedGeneration ?? 0) < service.generation)
      notes.push(
        `${label}: generation ${service.generation} not seen by the controller yet (the status is of generation ${status.observedGeneration ?? 0})`,
      );

    const traffic = status?.traffic ?? [];
    // Revisions in traffic first (in its order), then the others, newest first.
    const names = [
      ...new Set([...traffic.map((target) => target.revisionName), ...service.revisions.map((r) => r.name)]),
    ];
    for (const name of names) {
      const targets = traffic.filter((target) => target.revisionName === name);
      const percent = targets.reduce((sum, target) => sum + target.percent, 0);
      const tags = targets.flatMap((target) => (target.tag ? [target.tag] : []));
      const revision = service.revisions.find((r) => r.name === name);
      const revisionReady = ready(revision?.status?.conditions);
      revisionRows.push([
        label,
        name,
        targets.length > 0 ? `${percent}%` : "-",
        tags.length > 0 ? tags.join(",") : "-",
        revision === undefined ? "missing" : (revisionReady?.status ?? "-"),
        revision?.status ? String(revision.status.desiredReplicas ?? "-") : "-",
        revision?.status ? String(revision.status.actualReplicas ?? "-") : "-",
      ]);
      if (revisionReady && revisionReady.status !== "True") notes.push(`${name}: ${why(revisionReady)}`);
    }
  }
  const lines = table(serviceRows, [false, false, false, false, false]);
  if (revisionRows.length > 1)
    lines.push("", ...table(revisionRows, [false, false, true, false, false, true, true]));
  if (notes.length > 0) lines.push("", ...notes);
  return `${lines.join("\n")}\n`;
}

/** `--json`: every Service's and Revision's status as the API server has them. */
export function clusterStatusJson(services: readonly ServiceEntry[]): { services: ServiceEntry[] } {
  return { services: [...services] };
}
