/** A pod of a revision as the activator tracks it. */
export interface TrackedPod {
  url: string;
  /** The same queue-proxy's Unix socket, when it has one (Endpoint.socket). */
  socketPath?: string | undefined;
  inFlight: number;
  /** It may get traffic: ready in the state, and not out of use since a refused connection. */
  usable: boolean;
}

/**
 * Picks the pod for the next request, or undefined when every pod is at capacity. The policy
 * follows Knative's activator: first-available for containerConcurrency 1–3 (fill the earliest
 * pods, so small slots are never over-committed), round robin above, and power of two choices
 * when unlimited (0). Per request, never per connection.
 */
export class PodPicker {
  readonly #capacity: number;
  readonly #policy: "first-available" | "round-robin" | "two-choices";
  #next = 0;
  readonly #random: () => number;

  constructor(containerConcurrency: number, random: () => number = Math.random) {
    this.#capacity = containerConcurrency === 0 ? Number.POSITIVE_INFINITY : containerConcurrency;
    this.#policy =
      containerConcurrency === 0
        ? "two-choices"
        : containerConcurrency <= 3
          ? "first-available"
          : "round-robin";
    this.#random = random;
  }

  get policy(): string {
    return this.#policy;
  }

  pick(pods: readonly TrackedPod[]): TrackedPod | undefined {
    if (this.#policy === "first-available") {
      for (const pod of pods) if (pod.usable && pod.inFlight < this.#capacity) return pod;
      return undefined;
    }
    if (this.#policy === "round-robin") {
      for (let i = 0; i < pods.length; i++) {
        const pod = pods[(this.#next + i) % pods.length];
        if (pod.usable && pod.inFlight < this.#capacity) {
          this.#next = (this.#next + i + 1) % pods.length;
          return pod;
        }
      }
      return undefined;
    }
    const usable = pods.filter((pod) => pod.usable);
    if (usable.length <= 1) return usable[0];
    const first = Math.floor(this.#random() * usable.length);
    const second = (first + 1 + Math.floor(this.#random() * (usable.length - 1))) % usable.length;
    return usable[first].inFlight <= usable[second].inFlight ? usable[first] : usable[second];
  }
}
