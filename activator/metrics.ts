import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ExchangeMetrics } from "../common/http/proxy-exchange.ts";
import { metricName } from "../common/metrics.ts";
import { revisionKey } from "../common/state.ts";

const LABELS = ["service", "namespace", "revision"] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/** One tracked revision as the scrape sees it. */
export interface RevisionNow {
  labels: Labels;
  /** Requests its usable pods can take at once (-1: unlimited). */
  capacity: number;
  /** Requests waiting in its queue now. */
  queued: number;
}

/** The activator's metrics: requests by revision and code, waiting time, queued requests, capacity. */
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
      revisions: RevisionNow[];
      sizes: { tracked: number; retired: number };
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
      help: "Time a request waited in the activator for a pod with room (0 when one had room at once).",
      labelNames: LABELS,
      registers,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    });
    this.#rejected = new Counter({
      name: metricName("activator", "rejected_requests_total"),
      help: "Requests answered 503 because the activator's queue was full.",
      labelNames: LABELS,
      registers,
    });
    this.#timeouts = new Counter({
      name: metricName("activator", "timeouts_total"),
      help: "Requests the activator answered itself at the revision timeout (503 still waiting, 504 sent).",
      labelNames: LABELS,
      registers,
    });
    // Per revision, read at scrape time; sum() gives the activator's whole queue, which
    // ACTIVATOR_QUEUE_DEPTH bounds.
    new Gauge({
      name: metricName("activator", "queued_requests"),
      help: "Requests waiting in the activator for a pod of the revision now.",
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const { labels, queued } of current().revisions) this.set(labels, queued);
      },
    });
    new Gauge({
      name: metricName("activator", "revisions"),
      help: "Revisions the activator holds state for: in the state (tracked), gone but finishing (retired).",
      labelNames: ["what"],
      registers,
      collect() {
        const { tracked, retired } = current().sizes;
        this.set({ what: "tracked" }, tracked);
        this.set({ what: "retired" }, retired);
      },
    });
    new Gauge({
      name: metricName("activator", "capacity"),
      help: "Requests the revision's usable pods can take at once (-1: unlimited).",
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const { labels, capacity } of current().revisions) this.set(labels, capacity);
      },
    });
  }

  forRevision(labels: Labels): ExchangeMetrics & { waited(seconds: number): void } {
    const duration = this.#duration.labels(labels);
    const codes = new Set<string>();
    this.#codes.set(revisionKey(labels.namespace, labels.revision), codes);
    // The counters exist from the moment the revision is tracked, so rate() and alerts on them
    // see 0 rather than no series before the first rejection or timeout.
    const rejected = this.#rejected.labels(labels);
    const timeouts = this.#timeouts.labels(labels);
    rejected.inc(0);
    timeouts.inc(0);
    return {
      observe: (code, seconds) => {
        const text = String(code);
        codes.add(text);
        this.#requests.inc({ ...labels, code: text });
        duration.observe(seconds);
      },
      rejected,
      timeouts,
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
