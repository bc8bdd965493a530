import { Cron } from "croner";
import { parse as parseYaml } from "yaml";
import { parseDuration } from "../common/duration.ts";

/**
 * Time-of-day minimum scale (autoscaling.sluice.dev/schedule): windows that open on a cron
 * schedule, last `duration`, and keep at least `minScale` pods while open. Load-based scaling
 * still applies on top: the larger count wins.
 *
 *   autoscaling.sluice.dev/schedule: |
 *     - cron: "0 8 * * 1-5"      # weekdays at 08:00 …
 *       duration: 10h            # … until 18:00
 *       minScale: 3
 *       timezone: Europe/Berlin  # default UTC
 */
export interface ScheduleWindow {
  cron: Cron;
  expression: string;
  durationMs: number;
  minScale: number;
  timezone: string;
}

const FIELDS = new Set(["cron", "duration", "minScale", "timezone"]);

/** Parses the annotation value; every problem is reported with the window's index. */
export function parseSchedule(value: string): { windows: ScheduleWindow[]; problems: string[] } {
  const problems: string[] = [];
  let parsed: unknown;
  try {
    parsed = parseYaml(value);
  } catch (error) {
    return { windows: [], problems: [`not valid YAML: ${(error as Error).message.split("\n")[0]}`] };
  }
  if (!Array.isArray(parsed)) return { windows: [], problems: ["expected a list of windows (- cron: …)"] };
  const windows: ScheduleWindow[] = [];
  parsed.forEach((entry: unknown, index) => {
    const at = `[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problems.push(`${at}: expected a mapping with cron, duration, minScale`);
      return;
    }
    const fields = entry as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (!FIELDS.has(key)) problems.push(`${at}.${key}: unknown field`);
    const { cron, duration, minScale, timezone = "UTC" } = fields;
    const before = problems.length;
    if (typeof cron !== "string") problems.push(`${at}.cron: expected a cron expression`);
    const durationMs = typeof duration === "string" ? parseDuration(duration) : undefined;
    if (durationMs === undefined || durationMs <= 0)
      problems.push(`${at}.duration: expected a duration like 30m or 10h`);
    if (typeof minScale !== "number" || !Number.isInteger(minScale) || minScale < 0) {
      problems.push(`${at}.minScale: expected an integer >= 0`);
    }
    if (typeof timezone !== "string" || !isTimeZone(timezone))
      problems.push(`${at}.timezone: unknown time zone ${String(timezone)}`);
    if (problems.length > before) return;
    try {
      windows.push({
        cron: new Cron(cron as string, { timezone: timezone as string, paused: true }),
        expression: cron as string,
        durationMs: durationMs as number,
        minScale: minScale as number,
        timezone: timezone as string,
      });
    } catch (error) {
      problems.push(`${at}.cron: ${(error as Error).message}`);
    }
  });
  return { windows, problems };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The largest minScale of the windows open at `now` (0 when none is). */
export function scheduledMinScale(windows: readonly ScheduleWindow[], now: Date): number {
  let scale = 0;
  for (const window of windows) {
    // The latest opening at or before now (+1 ms so an opening exactly now counts).
    const [opened] = window.cron.previousRuns(1, new Date(now.getTime() + 1));
    if (opened && now.getTime() < opened.getTime() + window.durationMs)
      scale = Math.max(scale, window.minScale);
  }
  return scale;
}
