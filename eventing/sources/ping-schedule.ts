import { Cron } from "croner";

// A PingSource's schedule as croner takes it. Knative's is a standard 5-field cron (robfig/cron)
// with an optional "CRON_TZ=Zone " (or "TZ=Zone ") prefix and `spec.timezone`; croner reads the
// same patterns and the @hourly/@daily shorthands, and also a leading seconds field (6 fields),
// which sluice accepts as an extension (tests and demos need ticks faster than a minute).
// Knative's "@every 1m" has no croner equivalent: refused, with the cron to write instead.

export interface PingSchedule {
  pattern: string;
  /** IANA zone; undefined = the process's local time, as Knative uses the adapter's (UTC). */
  timezone: string | undefined;
}

export function parsePingSchedule(
  schedule: string,
  timezone: string | undefined,
): PingSchedule | { problem: string; field: "schedule" | "timezone" } {
  let pattern = schedule.trim();
  let zone = timezone;
  const prefix = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(pattern);
  if (prefix) {
    pattern = pattern.slice(prefix[0].length);
    // As Knative: spec.timezone wins over the prefix when both are set.
    zone ??= prefix[1];
  }
  if (zone !== undefined && !isTimeZone(zone))
    return { problem: `"${zone}" is not an IANA time zone (e.g. Europe/Paris)`, field: "timezone" };
  if (pattern.startsWith("@every"))
    return {
      problem: `"${schedule}": @every is not supported; write it as a cron (e.g. "*/5 * * * *" for every 5 minutes)`,
      field: "schedule",
    };
  try {
    new Cron(pattern, { paused: true, timezone: zone });
  } catch (error) {
    return {
      problem: `"${schedule}" is not a cron schedule: ${(error as Error).message}`,
      field: "schedule",
    };
  }
  return { pattern, timezone: zone };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
