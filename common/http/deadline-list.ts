/**
 * In-flight requests in arrival order. Every request of a revision has the same total timeout,
 * so arrival order is deadline order: one periodic sweep looks at the head only, and no request
 * pays for a timer of its own.
 */
export interface DeadlineEntry {
  startedAt: number;
  prevDeadline: DeadlineEntry | null;
  nextDeadline: DeadlineEntry | null;
  /** Called by the sweep when the entry has outlived the timeout. */
  expire(): void;
}

export class DeadlineList {
  #head: DeadlineEntry | null = null;
  #tail: DeadlineEntry | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(entry: DeadlineEntry): void {
    entry.prevDeadline = this.#tail;
    entry.nextDeadline = null;
    if (this.#tail) this.#tail.nextDeadline = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
  }

  remove(entry: DeadlineEntry): void {
    if (entry.prevDeadline === null && this.#head !== entry) return; // not in the list
    if (entry.prevDeadline) entry.prevDeadline.nextDeadline = entry.nextDeadline;
    else this.#head = entry.nextDeadline;
    if (entry.nextDeadline) entry.nextDeadline.prevDeadline = entry.prevDeadline;
    else this.#tail = entry.prevDeadline;
    entry.prevDeadline = null;
    entry.nextDeadline = null;
    this.#size--;
  }

  /** Expires (and removes) every entry that started at or before `cutoff`. */
  expireStartedBefore(cutoff: number): number {
    let expired = 0;
    while (this.#head !== null && this.#head.startedAt <= cutoff) {
      const entry = this.#head;
      this.remove(entry);
      entry.expire();
      expired++;
    }
    return expired;
  }
}
