// Pure figures the benchmarks report: medians, percentiles and ratios, with NaN for "no figure".

/** The middle value (the lower middle of an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
}

/**
 * The nearest-rank percentile: the smallest value with at least q of the values at or below it
 * (q from 0 to 1); NaN when empty.
 */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** a / b, or NaN when either is missing or b is not a positive number. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0)
    return Number.NaN;
  return a / b;
}
