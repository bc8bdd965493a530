import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricName } from "../common/metrics.ts";

const COMPONENT = "queue-proxy";

export interface RevisionLabels {
  service: string;
  namespace: string;
  revision: string;
}

/**
 * The queue-proxy's Prometheus metrics. Label children are bound once (a pod serves one revision),
 * and gauges are read at scrape time, so the request path only increments and observes.
 */
export class QueueProxyMetrics {
  readonly #requests: Counter<"service" | "namespace" | "revision" | "code">;
  readonly #byCode = new Map<number, Counter.Internal>();
  readonly #labels: RevisionLabels;
  readonly #duration: Histogram.Internal<string>;
  readonly rejected: Counter.Internal;
  readonly timeouts: Counter.Internal;

  constructor(
    registry: Registry,
    labels: RevisionLabels,
    current: () => { inFlight: number; queued: number },
  ) {
    this.#labels = labels;
    const labelNames = ["service", "namespace", "revision"] as const;
    this.#requests = new Counter({
      name: metricName(COMPONENT, "requests_total"),
      help: "Requests by response code (including the queue-proxy's own 502/503/504).",
      labelNames: [...labelNames, "code"],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: metricName(COMPONENT, "request_duration_seconds"),
      help: "Time from arrival to the end of the response, queueing included.",
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }).labels(labels);
    this.rejected = new Counter({
      name: metricName(COMPONENT, "rejected_requests_total"),
      help: "Requests answered 503 because the breaker queue was full.",
      labelNames,
      registers: [registry],
    }).labels(labels);
    this.timeouts = new Counter({
      name: metricName(COMPONENT, "timeouts_total"),
      help: "Requests that hit a timeout (504, or a reset once the response had started).",
      labelNames,
      registers: [registry],
    }).labels(labels);
    new Gauge({
      name: metricName(COMPONENT, "in_flight_requests"),
      help: "Requests being served by the app now.",
      labelNames,
      registers: [registry],
      collect() {
        this.set(labels, current().inFlight);
      },
    });
    new Gauge({
      name: metricName(COMPONENT, "queued_requests"),
      help: "Requests waiting for a free slot now.",
      labelNames,
      registers: [registry],
      collect() {
        this.set(labels, current().queued);
      },
    });
  }

  observe(code: number, seconds: number): void {
    let counter = this.#byCode.get(code);
    if (counter === undefined) {
      counter = this.#requests.labels({ ...this.#labels, code: String(code) });
      this.#byCode.set(code, counter);
    }
    counter.inc();
    this.#duration.observe(seconds);
  }
}
