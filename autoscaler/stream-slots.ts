import type { ServerResponse } from "node:http";

/**
 * A cap on long-lived responses of one kind (state watches, log follows): each holds a socket and
 * a buffer for as long as its client likes, so their number is bounded.
 */
export class StreamSlots {
  readonly max: number;
  #open = 0;

  constructor(max: number) {
    this.max = max;
  }

  get open(): number {
    return this.#open;
  }

  /** Takes a slot until `res` closes; false when every slot is taken. */
  take(res: ServerResponse): boolean {
    if (this.#open >= this.max) return false;
    this.#open++;
    res.once("close", () => this.#open--);
    return true;
  }
}
