import type { Gate, GateWaiter, Reason } from "../common/http/proxy-exchange.ts";
import { PodPicker, type TrackedPod } from "./pod-picker.ts";

/** Waiters the throttler can turn away (a failed revision) as well as admit. */
export interface ThrottledWaiter extends GateWaiter {
  fail(status: number, message: string, headers?: Record<string, string>, reason?: Reason): void;
}

/** The activator-wide bound on waiting requests, shared by every revision's throttler. */
export interface QueueBudget {
  waiting: number;
  readonly max: number;
}

/**
 * One revision's gate in the activator: capacity is its usable pods × containerConcurrency;
 * requests beyond it wait in FIFO order within the activator-wide budget, and are handed a pod as
 * soon as one has room (a request finishing, or a pod becoming usable).
 */
export class Throttler implements Gate {
  readonly #picker: PodPicker;
  readonly #budget: QueueBudget;
  #pods: TrackedPod[] = [];
  readonly #byUrl = new Map<string, TrackedPod>();
  readonly #waiting = new Set<ThrottledWaiter>();
  readonly #assigned = new Map<GateWaiter, TrackedPod>();
  readonly #onAdmit: (waiter: GateWaiter) => void;

  constructor(
    containerConcurrency: number,
    budget: QueueBudget,
    onAdmit: (waiter: GateWaiter) => void = () => {},
  ) {
    this.#picker = new PodPicker(containerConcurrency);
    this.#budget = budget;
    this.#onAdmit = onAdmit;
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  get inFlight(): number {
    return this.#assigned.size;
  }

  /** Usable pods (those that may get traffic). */
  get readyPods(): number {
    return this.#pods.filter((pod) => pod.usable).length;
  }

  enter(waiter: GateWaiter): "admitted" | "queued" | "rejected" {
    if (this.#waiting.size === 0) {
      const pod = this.#picker.pick(this.#pods);
      if (pod) {
        this.#assign(waiter, pod);
        return "admitted";
      }
    }
    if (this.#budget.waiting >= this.#budget.max) return "rejected";
    this.#waiting.add(waiter as ThrottledWaiter);
    this.#budget.waiting++;
    return "queued";
  }

  leave(waiter: GateWaiter): boolean {
    if (!this.#waiting.delete(waiter as ThrottledWaiter)) return false;
    this.#budget.waiting--;
    return true;
  }

  release(waiter: GateWaiter): void {
    const pod = this.#assigned.get(waiter);
    if (!pod) return;
    this.#assigned.delete(waiter);
    pod.inFlight--;
    this.#admitWaiting();
  }

  /**
   * The revision's ready endpoints changed: new ones take no request until markUsable (the
   * caller's to decide), gone ones get no more. Returns the new ones.
   */
  setEndpoints(urls: readonly string[], sockets: ReadonlyMap<string, string> = new Map()): string[] {
    const added: string[] = [];
    const keep = new Set(urls);
    for (const url of urls) {
      const known = this.#byUrl.get(url);
      if (known !== undefined) {
        known.socketPath = sockets.get(url);
        continue;
      }
      const pod: TrackedPod = { url, socketPath: sockets.get(url), inFlight: 0, usable: false };
      this.#byUrl.set(url, pod);
      added.push(url);
    }
    for (const url of this.#byUrl.keys()) if (!keep.has(url)) this.#byUrl.delete(url);
    this.#pods = [...this.#byUrl.values()];
    return added;
  }

  /**
   * A pod refused a connection (gone, though the state still lists it): it gets no more requests
   * until it is usable again. Returns whether it was usable until now (then probe it).
   */
  markUnreachable(url: string): boolean {
    const pod = this.#byUrl.get(url);
    if (!pod?.usable) return false;
    pod.usable = false;
    return true;
  }

  /** A pod may take requests now: new in the state, or one that refused a connection and passed a probe since. */
  markUsable(url: string): void {
    const pod = this.#byUrl.get(url);
    if (!pod || pod.usable) return;
    pod.usable = true;
    this.#admitWaiting();
  }

  /** Turns every waiting request away (the revision failed, or the activator stops). */
  failWaiting(status: number, message: string, reason?: Reason): void {
    const waiters = [...this.#waiting];
    this.#budget.waiting -= waiters.length;
    this.#waiting.clear();
    for (const waiter of waiters) waiter.fail(status, message, { "retry-after": "5" }, reason);
  }

  #assign(waiter: GateWaiter, pod: TrackedPod): void {
    pod.inFlight++;
    waiter.origin = pod.url;
    waiter.socketPath = pod.socketPath;
    this.#assigned.set(waiter, pod);
    this.#onAdmit(waiter);
  }

  #admitWaiting(): void {
    while (this.#waiting.size > 0) {
      const pod = this.#picker.pick(this.#pods);
      if (!pod) return;
      const waiter = this.#waiting.values().next().value as ThrottledWaiter;
      this.#waiting.delete(waiter);
      this.#budget.waiting--;
      this.#assign(waiter, pod);
      waiter.admit();
    }
  }
}
