/**
 * Smooth weighted round robin (nginx's upstream algorithm). With integer weights summing to W,
 * every W consecutive picks contain each choice exactly `weight` times, spread out rather than in
 * runs: a 1 % canary gets exactly 1 request in every 100, not 1 % on average. Choices of weight 0
 * are never picked.
 */
export class WeightedPicker<T> {
  readonly #choices: T[] = [];
  readonly #weights: number[] = [];
  readonly #current: number[] = [];
  readonly #total: number;

  constructor(entries: readonly { choice: T; weight: number }[]) {
    let total = 0;
    for (const { choice, weight } of entries) {
      if (!(weight > 0)) continue;
      this.#choices.push(choice);
      this.#weights.push(weight);
      this.#current.push(0);
      total += weight;
    }
    this.#total = total;
  }

  get size(): number {
    return this.#choices.length;
  }

  /** The next choice, or undefined when every weight is 0. */
  pick(): T | undefined {
    const count = this.#choices.length;
    if (count <= 1) return this.#choices[0];
    let best = 0;
    for (let i = 0; i < count; i++) {
      this.#current[i] += this.#weights[i];
      if (this.#current[i] > this.#current[best]) best = i;
    }
    this.#current[best] -= this.#total;
    return this.#choices[best];
  }
}
