// ISO-8601 durations ("PT0.2S", "PT1M30S", "P1D"), the form Knative Eventing's delivery fields
// (backoffDelay, timeout) take. Knative parses them with rickb777/period, which accepts a
// fraction in any field; years and months have no fixed length, so, as period's approximate
// conversion does, a year counts 365 days and a month 30.

const PATTERN =
  /^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

const DAY = 86_400_000;
const UNIT_MS = [365 * DAY, 30 * DAY, 7 * DAY, DAY, 3_600_000, 60_000, 1000];

/** Milliseconds, or undefined when `text` is not an ISO-8601 duration ("P" or "PT" alone are not). */
export function parseIsoDuration(text: string): number | undefined {
  const match = PATTERN.exec(text.trim());
  if (match === null || /[PT]$/.test(text.trim())) return undefined;
  let total = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = match[i + 1];
    if (part !== undefined) total += Number(part.replace(",", ".")) * UNIT_MS[i];
  }
  return total;
}
