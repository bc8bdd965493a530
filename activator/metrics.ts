import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ExchangeMetrics } from "../common/http/proxy-exchange.ts";
import { metricName } from "../common/metrics.ts";
import { revisionKey } from "../common/state.ts";

const LABELS = ["service", "namespace", "revision"] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/** The activator's metrics: requests by revision and code, waiting time, queue depth, capacity. */
export class ActivatorMetrics {
  /** Response codes seen per revision, so forget() can drop every requests_total series. */
  readonly #codes = new Map<string, Set<string>>();
  readonly #requests: Counter<(typeof LABELS)[number] | "code">;
  readonly #duration: Histogram<(typeof LABELS)[number]>;
  readonly #wait: Histogram<(typeof LABELS)[number]>;
  readonly #rejected: Counter<(typeof LABELS)[number]>;
  readonly #timeouts: Counter<(typeof LABELS)[number]>;

  constructor(
    registry: Registry,
    current: () => {
      waiting: number;
      capacity: { labels: Labels; value: number }[];
      revisions: { tracked: number; retired: number };
    },
  ) {
    const registers = [registry];
    this.#requests = new Counter({
      name: metricName("activator", "requests_total"),
      help: "Requests by revision and response code.",
      labelNames: [...LABELS, "code"],
      registers,
    });
    this.#duration = new Histogram({
      name: metricName("activator", "request_duration_seconds"),
      help: "Arrival to end of response, waiting included.",
      labelNames: LABELS,
      registers,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.#wait = new Histogram({
      name: metricName("activator", "wait_seconds"),
      help: "Time requests waited for a pod with room.",
      labelNames: LABELS,
      registers,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    });
    this.#rejected = new Counter({
      name: metricName("activator", "rejected_requests_total"),
      help: "Requests refused because the queue was full.",
      labelNames: LABELS,
      registers,
    });
    this.#timeouts = new Counter({
      name: metricName("activator", "timeouts_total"),
      help: "Requests that hit the revision timeout.",
      labelNames: LABELS,
      registers,
    });
    new Gauge({
      name: metricName("activator", "queue_depth"),
      help: "Requests waiting for a pod, all revisions.",
      registers,
      collect() {
        this.set(current().waiting);
      },
    });
    new Gauge({
      name: metricName("activator", "revisions"),
      help: "Revisions the activator holds state for: in the state (tracked), gone but finishing (retired).",
      labelNames: ["what"],
      registers,
      collect() {
        const { tracked, retired } = current().revisions;
        this.set({ what: "tracked" }, tracked);
        this.set({ what: "retired" }, retired);
      },
    });
    new Gauge({
      name: metricName("activator", "capacity"),
      help: "Requests the revision's probed pods can take at once (-1: unlimited).",
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const { labels, value } of current().capacity) this.set(labels, value);
      },
    });
  }

  forRevision(labels: Labels): ExchangeMetrics & { waited(seconds: number): void } {
    const duration = this.#duration.labels(labels);
    const codes = new Set<string>();
    this.#codes.set(revisionKey(labels.namespace, labels.revision), codes);
    return {
      observe: (code, seconds) => {
        const text = String(code);
        codes.add(text);
        this.#requests.inc({ ...labels, code: text });
        duration.observe(seconds);
      },
      rejected: this.#rejected.labels(labels),
      timeouts: this.#timeouts.labels(labels),
      waited: (seconds) => this.#wait.observe(labels, seconds),
    };
  }

  /** Drops a removed revision's series (its cardinality must not outlive it). */
  forget(labels: Labels): void {
    const key = revisionKey(labels.namespace, labels.revision);
    for (const code of this.#codes.get(key) ?? []) this.#requests.remove({ ...labels, code });
    this.#codes.delete(key);
    this.#duration.remove(labels);
    this.#wait.remove(labels);
    this.#rejected.remove(labels);
    this.#timeouts.remove(labels);
  }
}
