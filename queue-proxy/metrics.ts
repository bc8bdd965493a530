import type { Registry } from "prom-client";
import {
  FixedLabelCounter,
  FixedLabelHistogram,
  SeriesMetric,
  StatusCodeCounter,
} from "../common/fixed-label-metrics.ts";
import { metricName } from "../common/metric-name.ts";

const COMPONENT = "queue-proxy";

export interface RevisionLabels {
  service: string;
  namespace: string;
  revision: string;
}

const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/**
 * The queue-proxy's Prometheus metrics. A pod serves one revision, so every label but the status
 * code is fixed: the request path only bumps numbers, and gauges are read at scrape time.
 */
export class QueueProxyMetrics {
  readonly #requests: StatusCodeCounter;
  readonly #duration: FixedLabelHistogram;
  readonly rejected: FixedLabelCounter;
  readonly timeouts: FixedLabelCounter;

  constructor(
    registry: Registry,
    labels: RevisionLabels,
    current: () => { inFlight: number; queued: number },
    containerConcurrency = 0,
  ) {
    const fixed = { ...labels };
    this.#requests = new StatusCodeCounter(
      registry,
      metricName(COMPONENT, "requests_total"),
      "Requests by response code (including the queue-proxy's own 502/503/504).",
      fixed,
    );
    this.#duration = new FixedLabelHistogram(
      registry,
      metricName(COMPONENT, "request_duration_seconds"),
      "Time from arrival to the end of the response, queueing included.",
      fixed,
      DURATION_BUCKETS,
    );
    this.rejected = new FixedLabelCounter(
      registry,
      metricName(COMPONENT, "rejected_requests_total"),
      "Requests answered 503 because the breaker's queue was full (breaker rejections).",
      fixed,
    );
    this.timeouts = new FixedLabelCounter(
      registry,
      metricName(COMPONENT, "timeouts_total"),
      "Requests that hit a timeout (504, or a reset once the response had started).",
      fixed,
    );
    // Read at scrape time; plain series rather than prom-client Gauges, so that prom-client is
    // loaded only when the registry is first scraped (common/deferred-registry.ts).
    new SeriesMetric(
      registry,
      metricName(COMPONENT, "in_flight_requests"),
      "Requests being served by the app now.",
      "gauge",
      (out) => out.push({ labels: fixed, value: current().inFlight }),
    );
    new SeriesMetric(
      registry,
      metricName(COMPONENT, "queued_requests"),
      "Requests waiting for a free slot now.",
      "gauge",
      (out) => out.push({ labels: fixed, value: current().queued }),
    );
    // The pod's own limit beside its in-flight requests, so a dashboard compares the two per pod
    // without joining on the autoscaler's view of the revision.
    new SeriesMetric(
      registry,
      metricName(COMPONENT, "container_concurrency"),
      "The revision's containerConcurrency: requests the app is given at once (0 = unlimited).",
      "gauge",
      (out) => out.push({ labels: fixed, value: containerConcurrency }),
    );
  }

  observe(code: number, seconds: number): void {
    this.#requests.inc(code);
    this.#duration.observe(seconds);
  }
}
