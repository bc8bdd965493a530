import type { Logger } from "../../common/log.ts";
import type { EventingSet } from "../resources/compile.ts";
import type { BrokerStore } from "./broker-store.ts";
import { StreamMissing } from "./refusal.ts";

// Brings JetStream back to the served set when it loses what apply() created: a nats-server
// restarted without its store, a stream or consumer deleted by hand. Streams and consumers are
// made at apply only, so without this a Broker would answer 503 forever and its Triggers never
// receive again. Level-triggered, as a reconciler: every check compares each Broker's stream and
// each Trigger's consumer with the set and recreates what is gone (stream first, then its
// consumers: with interest retention an event stored before its consumer exists is not kept).
// Checks run on a timer (backing off while a recreation fails) and at once when a publish fails.
// While anything is missing the process reports not ready, and the ingress refuses that Broker's
// events with the true reason instead of publishing into a stream with no consumers yet.

export interface RepairOptions {
  /** Between checks while all is well. */
  intervalMs: number;
  /** The longest wait between checks while a recreation keeps failing. */
  maxBackoffMs: number;
}

export const DEFAULT_REPAIR: RepairOptions = { intervalMs: 5000, maxBackoffMs: 30_000 };

/** A publish failure does not start more than one check per this many ms. */
const ON_FAILURE_MIN_GAP_MS = 1000;

export class StoreRepair {
  readonly #store: BrokerStore;
  readonly #set: () => EventingSet;
  readonly #log: Logger;
  readonly #options: RepairOptions;
  /** "namespace/broker" → what is missing, for the 503 and the log. */
  #missing = new Map<string, string>();
  #checking: Promise<void> | undefined;
  #lastCheck = 0;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;

  constructor(store: BrokerStore, set: () => EventingSet, log: Logger, options = DEFAULT_REPAIR) {
    this.#store = store;
    this.#set = set;
    this.#log = log;
    this.#options = options;
  }

  /** False while a Broker's stream or a Trigger's consumer is missing (readiness). */
  get ready(): boolean {
    return this.#missing.size === 0;
  }

  /** What is missing now, by Broker. */
  get missing(): ReadonlyMap<string, string> {
    return this.#missing;
  }

  start(): void {
    this.#schedule(this.#options.intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Refuses at once an event for a Broker being repaired (its consumers may not exist yet). */
  guard(namespace: string, broker: string): void {
    const detail = this.#missing.get(`${namespace}/${broker}`);
    if (detail !== undefined) throw new StreamMissing(namespace, broker, detail);
  }

  /**
   * The error to give the producer for a failed publish: StreamMissing when the Broker's stream
   * is gone (and a repair is started), else the error as it was.
   */
  async explain(namespace: string, broker: string, error: unknown): Promise<unknown> {
    if ((error as { name?: string })?.name === "StoreUnavailable") return error; // NATS is away
    const exists = await this.#store.streamExists(namespace, broker).catch(() => true);
    if (exists) return error;
    this.#missing.set(`${namespace}/${broker}`, "stream not found");
    if (Date.now() - this.#lastCheck >= ON_FAILURE_MIN_GAP_MS) void this.check();
    return new StreamMissing(namespace, broker);
  }

  /** One pass over the set (one at a time: a check asked for during one joins it). */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    this.#lastCheck = Date.now();
    const set = this.#set();
    const missing = new Map<string, string>();
    for (const broker of set.brokers.values()) {
      const key = `${broker.namespace}/${broker.name}`;
      const triggers = set.triggers.filter(
        (t) => t.namespace === broker.namespace && t.broker === broker.name,
      );
      try {
        const gone: string[] = [];
        if (!(await this.#store.streamExists(broker.namespace, broker.name))) gone.push("stream");
        for (const trigger of triggers)
          if (
            gone[0] === "stream" ||
            !(await this.#store.consumerExists(broker.namespace, broker.name, trigger.name))
          )
            gone.push(`consumer of Trigger ${trigger.name}`);
        if (gone.length === 0) continue;
        missing.set(key, `${gone.join(", ")} not found`);
        this.#missing.set(key, `${gone.join(", ")} not found`);
        this.#log.warn(
          { broker: key, missing: gone },
          "JetStream lost the Broker's stream or consumers; recreating",
        );
        await this.#store.ensureBroker(broker.namespace, broker.name);
        for (const trigger of triggers)
          await this.#store.ensureTrigger(broker.namespace, broker.name, trigger.name);
        missing.delete(key);
        this.#log.info({ broker: key }, "Broker's stream and consumers recreated");
      } catch (error) {
        const detail = `recreating failed: ${(error as Error).message}`;
        if (missing.has(key) || this.#missing.has(key)) {
          missing.set(key, detail);
          this.#log.warn(
            { broker: key, err: (error as Error).message },
            "cannot recreate the Broker's stream; trying again",
          );
        }
        // Otherwise NATS did not answer the check itself: nothing known to be missing.
      }
    }
    this.#missing = missing;
    this.#failures = missing.size > 0 ? this.#failures + 1 : 0;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      await this.check().catch(() => {});
      // Failing: 1 s, 2 s, 4 s… up to maxBackoffMs; all well: the interval.
      this.#schedule(
        this.#failures > 0
          ? Math.min(1000 * 2 ** (this.#failures - 1), this.#options.maxBackoffMs)
          : this.#options.intervalMs,
      );
    }, delayMs);
    this.#timer.unref();
  }
}
