// `sluice status`'s Eventing part: each Broker's address, each Trigger's counts and each source's,
// from the eventing component's GET /v1/eventing (found as cli/eventing-url.ts says).
import type { EventingSnapshot } from "../common/status.ts";
import type { EventingStatus } from "../eventing/status.ts";

const TRIGGER_COLUMNS = [
  "TRIGGER",
  "BROKER",
  "SUBSCRIBER",
  "ACCEPTED",
  "DELIVERED",
  "RETRIED",
  "DEAD-LETTERED",
];
const SOURCE_COLUMNS = ["SOURCE", "KIND", "SINK", "DELIVERED", "RETRIED", "DEAD-LETTERED"];
const RIGHT = new Set(["ACCEPTED", "DELIVERED", "RETRIED", "DEAD-LETTERED"]);

const id = (namespace: string, name: string) => (namespace === "default" ? name : `${namespace}/${name}`);

/** Columns padded to their widest cell, counts right-aligned. */
function table(columns: readonly string[], body: string[][]): string[] {
  const rows = [[...columns], ...body];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (RIGHT.has(columns[i]) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * Brokers with their addresses, then a table of Triggers: ACCEPTED events (passed the filter,
 * once each), DELIVERED (the subscriber answered 2xx), RETRIED (failed attempts scheduled again),
 * DEAD-LETTERED (sent to the dead-letter sink); events dropped for want of a sink are noted. Then
 * the sources, when there are any, with the same counts of what they sent to their sinks; a source
 * that is not running (starting, or failing: with the reason and since when) is noted after them.
 */
export function formatEventing(status: EventingStatus & { sources?: EventingSnapshot["sources"] }): string {
  const lines = status.brokers.map((b) => `broker ${id(b.namespace, b.name)}: ${b.address.url}`);
  if (status.triggers.length === 0) lines.push("no triggers");
  else
    lines.push(
      ...table(
        TRIGGER_COLUMNS,
        status.triggers.map((t) => [
          id(t.namespace, t.name),
          t.broker,
          t.subscriber,
          String(t.counts.accepted ?? 0),
          String(t.counts.delivered ?? 0),
          String(t.counts.retried ?? 0),
          String(t.counts.deadLettered ?? 0),
        ]),
      ),
    );
  for (const t of status.triggers)
    if ((t.counts.dropped ?? 0) > 0)
      lines.push(
        `${id(t.namespace, t.name)}: ${t.counts.dropped} dropped (delivery failed, no dead-letter sink)`,
      );
  const sources = status.sources ?? [];
  if (sources.length > 0)
    lines.push(
      ...table(
        SOURCE_COLUMNS,
        sources.map((s) => [
          id(s.namespace, s.name),
          s.kind,
          s.sink,
          String(s.counts.delivered ?? 0),
          String(s.counts.retried ?? 0),
          String(s.counts.deadLettered ?? 0),
        ]),
      ),
    );
  for (const s of sources)
    if (s.status?.state === "failing")
      lines.push(
        `${id(s.namespace, s.name)}: failing since ${s.status.since}: ${s.status.reason ?? "unknown"}`,
      );
    else if (s.status?.state === "starting") lines.push(`${id(s.namespace, s.name)}: starting`);
  return `${lines.join("\n")}\n`;
}
