import { Counter, type Registry } from "prom-client";
import { metricName } from "../common/metrics.ts";

// Eventing's counters, the figures DESIGN.md wants per Trigger in the status (accepted,
// delivered, retried, dead-lettered). Labels are resource names: bounded by what is applied.

export type DeliveryOutcome = "accepted" | "delivered" | "retried" | "dead_lettered" | "dropped" | "filtered";

export class EventingMetrics {
  readonly #ingress: Counter<"namespace" | "broker" | "code">;
  readonly #deliveries: Counter<"namespace" | "trigger" | "outcome">;
  readonly #replies: Counter<"namespace" | "trigger" | "outcome">;
  /** The same counts, readable without prom-client's async API (status, tests). */
  readonly counts = new Map<string, number>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.#ingress = new Counter({
      name: metricName("eventing", "ingress_events_total"),
      help: "Events posted to a Broker, by response code (202 = stored).",
      labelNames: ["namespace", "broker", "code"],
      registers,
    });
    this.#deliveries = new Counter({
      name: metricName("eventing", "trigger_events_total"),
      help: "Events a Trigger handled, by outcome: accepted (passed its filter, counted once per event), delivered, retried (an attempt failed and is scheduled again), dead_lettered, dropped (failed with no dead-letter sink), filtered.",
      labelNames: ["namespace", "trigger", "outcome"],
      registers,
    });
    this.#replies = new Counter({
      name: metricName("eventing", "trigger_replies_total"),
      help: "CloudEvents in subscribers' replies, by outcome: published back to the Broker, duplicate (JetStream refused it as one), expired (TTL). An invalid reply fails the delivery (trigger_events_total).",
      labelNames: ["namespace", "trigger", "outcome"],
      registers,
    });
  }

  ingress(namespace: string, broker: string, code: number): void {
    this.#ingress.inc({ namespace, broker, code: String(code) });
    this.#bump(`ingress ${namespace}/${broker} ${code}`);
  }

  delivery(namespace: string, trigger: string, outcome: DeliveryOutcome): void {
    this.#deliveries.inc({ namespace, trigger, outcome });
    this.#bump(`trigger ${namespace}/${trigger} ${outcome}`);
  }

  reply(namespace: string, trigger: string, outcome: "published" | "duplicate" | "expired"): void {
    this.#replies.inc({ namespace, trigger, outcome });
    this.#bump(`reply ${namespace}/${trigger} ${outcome}`);
  }

  #bump(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
