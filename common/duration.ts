// Go duration strings ("30s", "1m30s", "1.5h", "250ms"), the form Knative's annotations use.
// Hand-written on purpose: a dozen lines, and the npm parsers accept other syntaxes ("1 day")
// that Knative would reject.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds, or undefined when `text` is not a Go duration. "0" alone is allowed, as in Go. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (value === "0") return 0;
  if (value === "") return undefined;
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  for (let match = PART.exec(value); match !== null; match = PART.exec(value)) {
    total += Number(match[1]) * UNIT_MS[match[2]];
    matched = PART.lastIndex;
  }
  return matched === value.length ? total : undefined;
}
