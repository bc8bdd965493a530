/** A ready pod's queue-proxy and the requests the router has in flight to it. */
export interface PodSlot {
  readonly url: string;
  /** The same queue-proxy's Unix socket, when it has one (Endpoint.socket). */
  socketPath: string | undefined;
  outstanding: number;
}

// Up to this many pods every pick looks at all of them; above, two random choices (whose
// expected imbalance is small) keep a pick O(1) for revisions with hundreds of pods.
const FULL_SCAN_LIMIT = 16;

/**
 * Least outstanding requests over a revision's ready pods, per request (never per connection),
 * never more than containerConcurrency in flight to one pod (0 = no limit).
 */
export class PodBalancer {
  #pods: PodSlot[] = [];
  #byUrl = new Map<string, PodSlot>();
  #next = 0;
  containerConcurrency: number;

  constructor(containerConcurrency: number) {
    this.containerConcurrency = containerConcurrency;
  }

  get size(): number {
    return this.#pods.length;
  }

  /** Replaces the pod set; pods that stay keep their outstanding counts. */
  setPods(urls: readonly string[], sockets: ReadonlyMap<string, string> = new Map()): void {
    const byUrl = new Map<string, PodSlot>();
    for (const url of urls) {
      const slot = this.#byUrl.get(url) ?? { url, socketPath: undefined, outstanding: 0 };
      slot.socketPath = sockets.get(url);
      byUrl.set(url, slot);
    }
    this.#byUrl = byUrl;
    this.#pods = [...byUrl.values()];
  }

  /** Takes a slot on the least loaded pod with room, or returns undefined. */
  acquire(): PodSlot | undefined {
    const pods = this.#pods;
    const count = pods.length;
    if (count === 0) return undefined;
    const limit = this.containerConcurrency > 0 ? this.containerConcurrency : Number.POSITIVE_INFINITY;
    let best: PodSlot | undefined;
    if (count > FULL_SCAN_LIMIT) {
      const a = pods[Math.floor(Math.random() * count)];
      const b = pods[Math.floor(Math.random() * count)];
      best = a.outstanding <= b.outstanding ? a : b;
      if (best.outstanding >= limit) best = undefined;
    }
    if (best === undefined) {
      // A rotating start, so equally loaded pods take turns.
      const start = this.#next++ % count;
      for (let i = 0; i < count; i++) {
        const pod = pods[(start + i) % count];
        if (pod.outstanding >= limit) continue;
        if (best === undefined || pod.outstanding < best.outstanding) best = pod;
        if (pod.outstanding === 0) break;
      }
    }
    if (best !== undefined) best.outstanding++;
    return best;
  }

  release(slot: PodSlot): void {
    slot.outstanding--;
  }
}
