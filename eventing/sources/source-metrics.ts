import { Counter, type Registry } from "prom-client";
import { metricName } from "../../common/metrics.ts";

// Every source's counts, by outcome, for /metrics and GET /v1/eventing: what the status shows
// per source as it shows accepted/delivered/retried/dead-lettered per Trigger.

export type SourceOutcome =
  /** The sink answered 2xx. */
  | "delivered"
  /** An attempt failed and another is scheduled. */
  | "retried"
  | "dead_lettered"
  /** Attempts spent and no dead-letter sink: logged and let go. */
  | "dropped"
  /** Refused at the source's door (a GitHub delivery with a bad signature, a malformed request). */
  | "rejected";

export class SourceMetrics {
  readonly #events: Counter<"kind" | "namespace" | "source" | "outcome">;
  /** The same counts, readable without prom-client's async API (status, tests). */
  readonly counts = new Map<string, number>();

  constructor(registry: Registry) {
    this.#events = new Counter({
      name: metricName("eventing", "source_events_total"),
      help: "Events a source handled, by outcome: delivered, retried, dead_lettered, dropped, rejected.",
      labelNames: ["kind", "namespace", "source", "outcome"],
      registers: [registry],
    });
  }

  event(kind: string, namespace: string, source: string, outcome: SourceOutcome): void {
    this.#events.inc({ kind, namespace, source, outcome });
    const key = `${kind} ${namespace}/${source} ${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  count(kind: string, namespace: string, source: string, outcome: SourceOutcome): number {
    return this.counts.get(`${kind} ${namespace}/${source} ${outcome}`) ?? 0;
  }
}
