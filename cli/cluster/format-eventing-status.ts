// The Eventing part of `sluice status` for a cluster, from the statuses eventing writes: a table of
// Brokers (address, Ready, reason), of Triggers (broker, subscriber URI, Ready, reason) and of
// sources and SinkBindings (sink URI, Ready, reason), then why whatever is not ready is not.
import type { Condition } from "../../platform/kubernetes/conditions.ts";
import type { EventingEntries, EventingEntry } from "./read-eventing-status.ts";

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, index) => Math.max(...rows.map((row) => row[index].length)));
  return rows.map((row) =>
    row
      .map((cell, index) => cell.padEnd(widths[index]))
      .join("  ")
      .trimEnd(),
  );
}

function ready(entry: EventingEntry): Condition | undefined {
  return entry.status?.conditions?.find((condition) => condition.type === "Ready");
}

/** `default`, or `shop/default` outside the default namespace or with -A (as services are shown). */
function label(entry: EventingEntry, allNamespaces: boolean): string {
  return entry.namespace === "default" && !allNamespaces ? entry.name : `${entry.namespace}/${entry.name}`;
}

/** The Eventing tables (each only when it has rows), with a blank line before each; "" when empty. */
export function formatEventingStatus(entries: EventingEntries, allNamespaces = false): string {
  const lines: string[] = [];
  const notes: string[] = [];
  const readyCells = (entry: EventingEntry) => {
    const condition = ready(entry);
    return [condition?.status ?? "-", condition?.reason ?? "-"];
  };
  const note = (entry: EventingEntry) => {
    const id = `${entry.kind} ${label(entry, allNamespaces)}`;
    const condition = ready(entry);
    if (!entry.status?.conditions)
      notes.push(`${id}: no status yet; is sluice's eventing component running?`);
    else if (condition && condition.status !== "True")
      notes.push(
        `${id}: ${[`Ready ${condition.status}`, condition.reason, condition.message].filter(Boolean).join(": ")}`,
      );
    if (entry.status && (entry.status.observedGeneration ?? 0) < entry.generation)
      notes.push(
        `${id}: generation ${entry.generation} not seen by eventing yet (the status is of generation ${entry.status.observedGeneration ?? 0})`,
      );
  };
  const section = (header: string[], entries: EventingEntry[], cells: (entry: EventingEntry) => string[]) => {
    if (entries.length === 0) return;
    lines.push("", ...table([header, ...entries.map((entry) => cells(entry))]));
    for (const entry of entries) note(entry);
  };
  section(["BROKER", "ADDRESS", "READY", "REASON"], entries.brokers, (entry) => [
    label(entry, allNamespaces),
    entry.status?.address?.url ?? "-",
    ...readyCells(entry),
  ]);
  section(["TRIGGER", "BROKER", "SUBSCRIBER URI", "READY", "REASON"], entries.triggers, (entry) => [
    label(entry, allNamespaces),
    entry.broker ?? "-",
    entry.status?.subscriberUri ?? "-",
    ...readyCells(entry),
  ]);
  section(["SOURCE", "KIND", "SINK URI", "READY", "REASON"], entries.sources, (entry) => [
    label(entry, allNamespaces),
    entry.kind,
    entry.status?.sinkUri ?? "-",
    ...readyCells(entry),
  ]);
  notes.push(...entries.unreadable.map((why) => `eventing: ${why}`));
  if (notes.length > 0) lines.push("", ...notes);
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
