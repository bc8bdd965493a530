/**
 * The largest value recorded over the last `windowMs` (Knative's scale-down delay): scaling down
 * follows only once the higher counts have aged out of the window.
 */
export class MaxOverWindow {
  readonly #windowMs: number;
  #entries: { at: number; value: number }[] = [];

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  record(now: number, value: number): void {
    // A smaller or equal earlier value can never be the max again: keep a decreasing list.
    while (this.#entries.length > 0 && this.#entries[this.#entries.length - 1].value <= value)
      this.#entries.pop();
    this.#entries.push({ at: now, value });
  }

  current(now: number): number {
    while (this.#entries.length > 1 && this.#entries[0].at <= now - this.#windowMs) this.#entries.shift();
    return this.#entries[0]?.value ?? 0;
  }
}
