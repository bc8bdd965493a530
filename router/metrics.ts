import type { Registry } from "prom-client";
import { CodeCounts, HistogramCounts, SeriesMetric, type Value } from "../common/fixed-label-metrics.ts";
import type { ExchangeMetrics } from "../common/http/proxy-exchange.ts";
import { metricName } from "../common/metric-name.ts";

const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

export interface RevisionLabels {
  service: string;
  namespace: string;
  revision: string;
}

/** One revision's counts, bumped as plain numbers on the request path and read at scrape time. */
export class RevisionCounters implements ExchangeMetrics {
  readonly labels: RevisionLabels;
  readonly codes = new CodeCounts();
  readonly duration = new HistogramCounts(DURATION_BUCKETS);
  readonly rejected = {
    count: 0,
    inc() {
      this.count++;
    },
  };
  readonly timeouts = {
    count: 0,
    inc() {
      this.count++;
    },
  };
  upstreamErrors = 0;
  retries = 0;
  /** Requests in flight, read from the revision's concurrency stats. */
  inFlight: () => number = () => 0;

  constructor(labels: RevisionLabels) {
    this.labels = labels;
  }

  observe(code: number, seconds: number): void {
    this.codes.inc(code);
    this.duration.observe(seconds);
  }
}

/** Requests the router answered itself before choosing a revision, by reason. */
export type UnroutedReason = "bad_host" | "no_route";

/** The router's metrics: every revision's counters, plus requests that matched no route. */
export class RouterMetrics {
  readonly #unrouted = new Map<UnroutedReason, number>();

  constructor(
    registry: Registry,
    revisions: () => Iterable<RevisionCounters>,
    table: () => { services: number; hosts: number; generation: number },
  ) {
    const series = (
      what: string,
      help: string,
      type: "counter" | "gauge" | "histogram",
      collect: (counters: RevisionCounters, out: Value[]) => void,
    ) =>
      new SeriesMetric(registry, metricName("router", what), help, type, (out) => {
        for (const counters of revisions()) collect(counters, out);
      });
    const labels = (counters: RevisionCounters) => counters.labels as unknown as Record<string, string>;
    series("requests_total", "Requests by service, revision and response code.", "counter", (c, out) =>
      c.codes.collect(labels(c), out),
    );
    series("request_duration_seconds", "Arrival to end of response.", "histogram", (c, out) =>
      c.duration.collect(metricName("router", "request_duration_seconds"), labels(c), out),
    );
    series("in_flight_requests", "Requests being proxied now.", "gauge", (c, out) =>
      out.push({ labels: labels(c), value: c.inFlight() }),
    );
    series(
      "upstream_errors_total",
      "Failures talking to a pod or the activator (refused, reset, timed out).",
      "counter",
      (c, out) => out.push({ labels: labels(c), value: c.upstreamErrors }),
    );
    series(
      "retries_total",
      "Requests retried on another pod after a connection failure.",
      "counter",
      (c, out) => out.push({ labels: labels(c), value: c.retries }),
    );
    series("timeouts_total", "Requests past their revision's timeout.", "counter", (c, out) =>
      out.push({ labels: labels(c), value: c.timeouts.count }),
    );
    new SeriesMetric(
      registry,
      metricName("router", "unrouted_requests_total"),
      "Requests that matched no route, by reason.",
      "counter",
      (out) => {
        for (const [reason, value] of this.#unrouted) out.push({ labels: { reason }, value });
      },
    );
    // Three gauges, not one with a `what` label: a sum over services, hosts and a generation
    // number means nothing.
    const gauge = (what: string, help: string, read: (current: ReturnType<typeof table>) => number) =>
      new SeriesMetric(registry, metricName("router", what), help, "gauge", (out) =>
        out.push({ labels: {}, value: read(table()) }),
      );
    gauge("route_table_services", "Services in the route table.", (current) => current.services);
    gauge("route_table_hosts", "Host names the route table answers.", (current) => current.hosts);
    gauge(
      "state_generation",
      "Generation of the autoscaler's state the route table was built from.",
      (current) => current.generation,
    );
  }

  unrouted(reason: UnroutedReason): void {
    this.#unrouted.set(reason, (this.#unrouted.get(reason) ?? 0) + 1);
  }
}
