// The components log one JSON object per line (pino). `sluice up` shows them as short lines a
// person can read: time, component, message and the interesting fields.

const LEVELS: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};
const HIDDEN = new Set(["level", "time", "pid", "hostname", "name", "component", "msg", "v"]);

export interface LogFilter {
  /** The lowest level printed for this component (pino numbers: 30 info, 40 warn). */
  minLevel: number;
}

/** Formats one output line, or returns undefined when it is below the filter. Non-JSON passes as is. */
export function formatLogLine(component: string, line: string, filter: LogFilter): string | undefined {
  if (line.trim() === "") return undefined;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${clock(Date.now())} ${component.padEnd(10)} ${line}`;
  }
  const level = typeof record.level === "number" ? record.level : 30;
  if (level < filter.minLevel) return undefined;
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  const levelName = level >= 40 ? `${LEVELS[level] ?? level}: ` : "";
  const time = typeof record.time === "number" ? record.time : Date.now();
  return `${clock(time)} ${component.padEnd(10)} ${levelName}${String(record.msg ?? "")}${fields ? `  ${fields}` : ""}`;
}

function clock(time: number): string {
  return new Date(time).toTimeString().slice(0, 8);
}
