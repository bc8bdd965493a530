import type { Logger } from "../../common/log.ts";
import type { EventingSet, TriggerRuntime } from "../resources/compile.ts";
import { TriggerWorker, type WorkerOptions } from "./trigger-worker.ts";

// The Trigger dispatcher: one worker per Trigger of the current set. apply() brings the workers
// to a new set as a reconciler does: an unchanged Trigger's worker runs on untouched (its
// deliveries in flight included), a new one starts, and a changed or removed one's worker is
// retired. A retired worker stops pulling at once and drains in the background: what it has in
// flight finishes with the old spec (each attempt bounded by its delivery timeout) and is acked
// or handed back, while the changed Trigger's new worker already pulls from the same durable
// consumer. Draining rather than nak'ing: an attempt already sent may be processed by the
// subscriber, and handing it back would send it twice; and no apply ever waits for a slow
// subscriber (an apply that only adds a PingSource used to wait for every delivery in flight).

/** A Trigger as comparable text: equal text, same worker (the filter function is left out, its spec is in). */
export function triggerFingerprint(trigger: TriggerRuntime): string {
  return JSON.stringify(trigger);
}

export interface DispatchChange {
  started: string[];
  restarted: string[];
  stopped: string[];
  unchanged: string[];
}

interface Running {
  worker: TriggerWorker;
  fingerprint: string;
}

export class TriggerDispatcher {
  readonly #options: WorkerOptions;
  readonly #log: Logger;
  #workers = new Map<string, Running>();
  /** Retired workers still finishing their deliveries. */
  readonly #draining = new Set<Promise<void>>();

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** Workers for every Trigger of `set` (consumers must exist: BrokerStore.ensureTrigger). */
  async apply(set: EventingSet): Promise<DispatchChange> {
    const change: DispatchChange = { started: [], restarted: [], stopped: [], unchanged: [] };
    const wanted = new Map(set.triggers.map((t) => [`${t.namespace}/${t.name}`, t]));
    for (const [key, running] of this.#workers) {
      const trigger = wanted.get(key);
      if (trigger && triggerFingerprint(trigger) === running.fingerprint) continue;
      this.#retire(running.worker);
      this.#workers.delete(key);
      (trigger ? change.restarted : change.stopped).push(key);
    }
    for (const [key, trigger] of wanted) {
      if (this.#workers.has(key)) {
        if (!change.restarted.includes(key)) change.unchanged.push(key);
        continue;
      }
      const worker = new TriggerWorker(trigger, this.#options);
      await worker.start();
      this.#workers.set(key, { worker, fingerprint: triggerFingerprint(trigger) });
      if (!change.restarted.includes(key)) change.started.push(key);
    }
    this.#log.info(change, "dispatching");
    return change;
  }

  #retire(worker: TriggerWorker): void {
    const drained = worker.stop().catch((error: Error) => {
      this.#log.warn({ trigger: worker.name, err: error.message }, "retired worker did not stop cleanly");
    });
    this.#draining.add(drained);
    void drained.finally(() => this.#draining.delete(drained));
  }

  /** Stops every worker and waits for their deliveries (shutting down). */
  async stop(): Promise<void> {
    for (const running of this.#workers.values()) this.#retire(running.worker);
    this.#workers = new Map();
    await Promise.allSettled([...this.#draining]);
  }
}
