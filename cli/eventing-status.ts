// `sluice status`'s Eventing part: each Broker's address and each Trigger's counts, from the
// eventing component's GET /v1/eventing (found as cli/eventing-url.ts says).
import type { EventingStatus } from "../eventing/status.ts";

const COLUMNS = [
  "TRIGGER",
  "BROKER",
  "SUBSCRIBER",
  "ACCEPTED",
  "DELIVERED",
  "RETRIED",
  "DEAD-LETTERED",
] as const;
const RIGHT = new Set(["ACCEPTED", "DELIVERED", "RETRIED", "DEAD-LETTERED"]);

const id = (namespace: string, name: string) => (namespace === "default" ? name : `${namespace}/${name}`);

/**
 * Brokers with their addresses, then a table of Triggers: ACCEPTED events (passed the filter,
 * once each), DELIVERED (the subscriber answered 2xx), RETRIED (failed attempts scheduled again),
 * DEAD-LETTERED (sent to the dead-letter sink); events dropped for want of a sink are noted.
 */
export function formatEventing(status: EventingStatus): string {
  const lines = status.brokers.map((b) => `broker ${id(b.namespace, b.name)}: ${b.address.url}`);
  if (status.triggers.length === 0) return `${[...lines, "no triggers"].join("\n")}\n`;
  const rows = [
    [...COLUMNS],
    ...status.triggers.map((t) => [
      id(t.namespace, t.name),
      t.broker,
      t.subscriber,
      String(t.counts.accepted ?? 0),
      String(t.counts.delivered ?? 0),
      String(t.counts.retried ?? 0),
      String(t.counts.deadLettered ?? 0),
    ]),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  lines.push(
    ...rows.map((row) =>
      row
        .map((cell, i) => (RIGHT.has(COLUMNS[i]) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    ),
  );
  for (const t of status.triggers)
    if ((t.counts.dropped ?? 0) > 0)
      lines.push(
        `${id(t.namespace, t.name)}: ${t.counts.dropped} dropped (delivery failed, no dead-letter sink)`,
      );
  return `${lines.join("\n")}\n`;
}
