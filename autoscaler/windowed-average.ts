/**
 * Average of a revision-wide metric over a sliding window (Knative's TimedFloat64Buckets), in
 * one-second buckets. Each record is the revision's total at that moment; several records in one
 * second (a fast tick) are averaged, not added. The window average divides by the seconds the
 * window spans since the first record, so a new revision is not diluted by time before it existed;
 * a second with no record counts as 0.
 */
export class WindowedAverage {
  readonly #windowSeconds: number;
  // Ring of per-second sums and counts, indexed by second % length.
  readonly #sums: Float64Array;
  readonly #counts: Float64Array;
  readonly #seconds: Float64Array;
  #firstSecond = Number.NaN;

  constructor(windowMs: number) {
    this.#windowSeconds = Math.max(1, Math.round(windowMs / 1000));
    this.#sums = new Float64Array(this.#windowSeconds);
    this.#counts = new Float64Array(this.#windowSeconds);
    this.#seconds = new Float64Array(this.#windowSeconds).fill(Number.NaN);
  }

  record(now: number, value: number): void {
    const second = Math.floor(now / 1000);
    const slot = second % this.#windowSeconds;
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#sums[slot] = 0;
      this.#counts[slot] = 0;
    }
    this.#sums[slot] += value;
    this.#counts[slot]++;
    if (Number.isNaN(this.#firstSecond)) this.#firstSecond = second;
  }

  /** undefined when nothing was recorded in the window (Knative: "no data"). */
  average(now: number): number | undefined {
    const current = Math.floor(now / 1000);
    const oldest = Math.max(current - this.#windowSeconds + 1, this.#firstSecond);
    let sum = 0;
    let any = false;
    for (let slot = 0; slot < this.#windowSeconds; slot++) {
      const second = this.#seconds[slot];
      if (second >= oldest && second <= current) {
        sum += this.#sums[slot] / this.#counts[slot];
        any = true;
      }
    }
    return any ? sum / (current - oldest + 1) : undefined;
  }
}
