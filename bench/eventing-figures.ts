// The eventing bench's figures, as pure functions: one measured run per path and round in, one
// row per path out (the median round, its range, the ratio to posting straight to the service).
import { median, ratio } from "./lib/stats.ts";
import { fixed } from "./lib/table.ts";

/** The three ways an event reaches the subscriber. */
export const PATHS = ["direct", "broker", "kafka"] as const;
export type EventPath = (typeof PATHS)[number];

export const PATH_LABELS: Record<EventPath, string> = {
  direct: "direct: POST → router → service",
  broker: "POST → broker → trigger → service",
  kafka: "Kafka → KafkaSource → service",
};

export interface PathRun {
  path: EventPath;
  round: number;
  /** Events sent. */
  events: number;
  /** Distinct ids the subscriber answered, and answers beyond the first per id. */
  unique: number;
  duplicates: number;
  /** Sends refused (non-2xx from the router or the Broker; a failed Kafka send throws). */
  sendErrors: number;
  /** From the first send to the subscriber's answer to the last new id, s. */
  seconds: number;
  /** CPU used meanwhile by the eventing component and by nats-server, µs. */
  cpuMicros: { eventing: number; nats: number };
}

/** Events per second from the first send (epoch ms) to the last delivery (epoch ms); NaN if none. */
export function eventsPerSecond(events: number, seconds: number): number {
  return seconds > 0 && events > 0 ? events / seconds : Number.NaN;
}

export interface PathRow {
  path: EventPath;
  rounds: number;
  events: number;
  /** Median round, and the lowest and highest. */
  eventsPerSecond: number;
  low: number;
  high: number;
  /** eventsPerSecond ÷ the direct path's. */
  ratioToDirect: number;
  /** Over all rounds: events never answered, answers beyond one per id, refused sends. */
  lost: number;
  duplicates: number;
  sendErrors: number;
  /** Median round's CPU µs per event of the eventing component and of nats-server. */
  eventingMicrosPerEvent: number;
  natsMicrosPerEvent: number;
}

export function summarise(runs: readonly PathRun[]): PathRow[] {
  const rows = PATHS.map((path): PathRow | undefined => {
    const mine = runs.filter((run) => run.path === path);
    if (mine.length === 0) return undefined;
    const rates = mine.map((run) => eventsPerSecond(run.unique, run.seconds));
    const sum = (pick: (run: PathRun) => number) => mine.reduce((total, run) => total + pick(run), 0);
    return {
      path,
      rounds: mine.length,
      events: mine[0].events,
      eventsPerSecond: median(rates),
      low: Math.min(...rates),
      high: Math.max(...rates),
      ratioToDirect: Number.NaN,
      lost: sum((run) => run.events - run.unique),
      duplicates: sum((run) => run.duplicates),
      sendErrors: sum((run) => run.sendErrors),
      eventingMicrosPerEvent: median(mine.map((run) => run.cpuMicros.eventing / run.events)),
      natsMicrosPerEvent: median(mine.map((run) => run.cpuMicros.nats / run.events)),
    };
  }).filter((row) => row !== undefined);
  const direct = rows.find((row) => row.path === "direct")?.eventsPerSecond;
  for (const row of rows) row.ratioToDirect = ratio(row.eventsPerSecond, direct);
  return rows;
}

export const THROUGHPUT_HEADERS = [
  "path",
  "events",
  "events/s",
  "(range)",
  "×direct",
  "lost",
  "dup",
  "refused",
  "eventing µs/ev",
  "nats µs/ev",
];

export function throughputCells(row: PathRow): string[] {
  return [
    PATH_LABELS[row.path],
    `${row.rounds}×${row.events}`,
    fixed(row.eventsPerSecond, 0),
    `${fixed(row.low, 0)}–${fixed(row.high, 0)}`,
    fixed(row.ratioToDirect),
    String(row.lost),
    String(row.duplicates),
    String(row.sendErrors),
    row.path === "direct" ? "-" : fixed(row.eventingMicrosPerEvent, 0),
    row.path === "direct" ? "-" : fixed(row.natsMicrosPerEvent, 0),
  ];
}
