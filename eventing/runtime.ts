import type { Logger } from "../common/log.ts";
import { type TriggerDispatcher, triggerFingerprint } from "./dispatcher/dispatcher.ts";
import type { EventingSet } from "./resources/compile.ts";
import type { BrokerStore } from "./store/broker-store.ts";

// The resource set the process serves, and the one way to change it: apply() a whole new set
// (Envoy-style snapshot), which brings JetStream and the dispatcher to it in a safe order.
// Start-up applies the set from EVENTING_FILES; `sluice apply` (later: an admin PUT that loads,
// validates against `set.brokers` and compiles) will apply the next one.

export class EventingRuntime {
  readonly #store: BrokerStore;
  readonly #dispatcher: TriggerDispatcher;
  readonly #log: Logger;
  #set: EventingSet = { brokers: new Map(), triggers: [] };
  #queue: Promise<void> = Promise.resolve();

  constructor(store: BrokerStore, dispatcher: TriggerDispatcher, log: Logger) {
    this.#store = store;
    this.#dispatcher = dispatcher;
    this.#log = log;
  }

  /** What is served now: the ingress's Brokers, the status. */
  get set(): EventingSet {
    return this.#set;
  }

  /** Serves `next` from now on. Applies run one at a time, in call order. */
  apply(next: EventingSet): Promise<void> {
    const run = this.#queue.then(() => this.#apply(next));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(next: EventingSet): Promise<void> {
    // Brokers and Triggers as they were (an apply that only changes sources, say): nothing to
    // bring to it, and no worker is touched.
    if (setFingerprint(next) === setFingerprint(this.#set)) {
      this.#set = next;
      return;
    }
    // 1. Streams and consumers first: with interest retention an event stored before its
    //    Trigger's consumer exists is not kept for it, so the ingress must not see a Broker
    //    (or a Trigger start) before they are there.
    for (const broker of next.brokers.values()) {
      await this.#store.ensureBroker(broker.namespace, broker.name);
      for (const trigger of next.triggers)
        if (trigger.namespace === broker.namespace && trigger.broker === broker.name)
          await this.#store.ensureTrigger(broker.namespace, broker.name, trigger.name);
    }
    // 2. The ingress takes the new Brokers; the dispatcher's workers follow the new Triggers
    //    (only changed ones are restarted; nothing waits for a delivery in flight).
    const previous = this.#set;
    this.#set = next;
    await this.#dispatcher.apply(next);
    // 3. Only then the consumers of Triggers that are gone (their workers no longer pull), so
    //    interest retention stops keeping events for them. A Broker that is gone keeps its
    //    stream (and what it holds, until the retention age): deleting stored events is not
    //    something a config change should do by accident.
    const brokers = new Map([...previous.brokers, ...next.brokers]);
    for (const broker of brokers.values()) {
      const keep = new Set(
        next.triggers
          .filter((t) => t.namespace === broker.namespace && t.broker === broker.name)
          .map((t) => t.name),
      );
      const removed = await this.#store
        .pruneTriggers(broker.namespace, broker.name, keep)
        .catch((error: Error) => {
          this.#log.warn(
            { broker: `${broker.namespace}/${broker.name}`, err: error.message },
            "could not prune consumers",
          );
          return [];
        });
      if (removed.length > 0)
        this.#log.info(
          { broker: `${broker.namespace}/${broker.name}`, removed },
          "consumers of removed Triggers deleted",
        );
    }
  }
}

/** Brokers and Triggers as comparable text, in no particular order. */
function setFingerprint(set: EventingSet): string {
  return JSON.stringify([[...set.brokers.keys()].sort(), set.triggers.map(triggerFingerprint).sort()]);
}
