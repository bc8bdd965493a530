import type { Logger } from "../../common/log.ts";
import type { EventingSet } from "../resources/compile.ts";
import { TriggerWorker, type WorkerOptions } from "./trigger-worker.ts";

// The Trigger dispatcher: one worker per Trigger of the current set. Today the set is fixed at
// start-up; apply() is where a changed set (from `sluice apply`, later) swaps workers: stopped
// workers leave their undelivered events in their consumer, new ones start where theirs is.

export class TriggerDispatcher {
  readonly #options: WorkerOptions;
  readonly #log: Logger;
  #workers = new Map<string, TriggerWorker>();

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** Runs a worker for every Trigger of `set` (consumers must exist: BrokerStore.ensureTrigger). */
  async apply(set: EventingSet): Promise<void> {
    const next = new Map<string, TriggerWorker>();
    for (const trigger of set.triggers)
      next.set(`${trigger.namespace}/${trigger.name}`, new TriggerWorker(trigger, this.#options));
    // Every worker is replaced: a Trigger's filter or subscriber may have changed, and a restart
    // of a worker costs one pull request.
    await this.stop();
    for (const worker of next.values()) await worker.start();
    this.#workers = next;
    this.#log.info({ triggers: [...next.keys()] }, "dispatching");
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((worker) => worker.stop()));
    this.#workers = new Map();
  }
}
