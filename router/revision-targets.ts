import type { RevisionState } from "../common/state.ts";
import type { RevisionCounters } from "./metrics.ts";
import { RevisionTarget, type TargetDeps } from "./revision-target.ts";
import type { TargetRegistry } from "./route-table.ts";

const SWEEP_MS = 250;

/** Every revision's live target by revisionKey, kept in step with the state; also sweeps their deadlines. */
export class RevisionTargets implements TargetRegistry {
  readonly #deps: TargetDeps;
  readonly #targets = new Map<string, RevisionTarget>();
  /** Removed targets that still had requests in flight (drain waits for them too). */
  #retired: RevisionTarget[] = [];
  readonly #timer: NodeJS.Timeout;
  #draining = false;

  constructor(deps: TargetDeps) {
    this.#deps = deps;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const target of this.#all()) target.ctx.deadlines.expireStartedBefore(now - target.ctx.timeoutMs);
    }, SWEEP_MS);
    this.#timer.unref();
  }

  targetFor(key: string, state?: RevisionState): RevisionTarget {
    let target = this.#targets.get(key);
    if (target === undefined) {
      target = new RevisionTarget(key, state, this.#deps);
      target.ctx.draining = this.#draining;
      this.#targets.set(key, target);
    } else if (state !== undefined && target.state !== state) {
      target.update(state);
    }
    return target;
  }

  sweep(live: Record<string, RevisionState>): void {
    for (const [key, target] of this.#targets) {
      if (live[key] !== undefined) continue;
      target.removed = true;
      this.#targets.delete(key);
      this.#retired.push(target);
    }
    this.#retired = this.#retired.filter((target) => target.counters.inFlight() > 0);
  }

  counters(): Iterable<RevisionCounters> {
    return [...this.#targets.values()].map((target) => target.counters);
  }

  /** Requests in flight through every revision (drain waits for this to reach 0). */
  inFlight(): number {
    let sum = 0;
    for (const target of this.#all()) sum += target.counters.inFlight();
    return sum;
  }

  /** Marks every target draining: responses carry Connection: close from now on. */
  drain(): void {
    this.#draining = true;
    for (const target of this.#all()) target.ctx.draining = true;
  }

  *#all(): Iterable<RevisionTarget> {
    yield* this.#targets.values();
    yield* this.#retired;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
