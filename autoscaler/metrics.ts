import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricName } from "../common/metrics.ts";
import type { ServiceState } from "../common/state.ts";
import type { PodStatus } from "../platform/platform.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

const LABELS = ["service", "namespace", "revision"] as const;

/** Seconds, for the time from a revision's first pod starting to it being ready. */
const COLD_START_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];

/**
 * Per-revision autoscaling gauges, set once per tick; cold starts, seen at tick resolution; and the
 * requested traffic split, read from the published services at scrape time.
 */
export class AutoscalerMetrics {
  readonly #gauges: Record<string, Gauge<(typeof LABELS)[number]>>;
  readonly #coldStarts: Counter<(typeof LABELS)[number]>;
  readonly #coldStartSeconds: Histogram<(typeof LABELS)[number]>;
  /** Ready pods at the last record, by revision key: a change from 0 to more is a cold start. */
  readonly #readyBefore = new Map<string, number>();

  /** `services`: the published services (StatePublisher.state.services), for traffic_ratio. */
  constructor(registry: Registry, services: () => Iterable<ServiceState> = () => []) {
    const gauge = (what: string, help: string) =>
      new Gauge({ name: metricName("autoscaler", what), help, labelNames: LABELS, registers: [registry] });
    this.#gauges = {
      desired: gauge("desired_pods", "Pods the autoscaler asks the platform for."),
      ready: gauge("ready_pods", "Pods ready to serve."),
      actual: gauge("actual_pods", "Pods that exist, ready or not (pending ones not included)."),
      pending: gauge(
        "pending_pods",
        "Pods wanted but waiting for room on the machine (the local platform's capacity).",
      ),
      stable: gauge("stable_concurrency", "Observed concurrency (or rps) over the stable window."),
      panic: gauge("panic_concurrency", "Observed concurrency (or rps) over the panic window."),
      panicking: gauge("panic_mode", "1 while the revision's autoscaler is in panic mode."),
      burst: gauge(
        "excess_burst_capacity",
        "Excess burst capacity; negative keeps the activator in the path.",
      ),
      concurrencyLimit: gauge(
        "container_concurrency",
        "The revision's containerConcurrency: requests a pod takes at once (0 = unlimited).",
      ),
    };
    this.#coldStarts = new Counter({
      name: metricName("autoscaler", "cold_starts_total"),
      help: "Times a revision went from no ready pod to one (scale from zero, or a new revision's first pod).",
      labelNames: LABELS,
      registers: [registry],
    });
    this.#coldStartSeconds = new Histogram({
      name: metricName("autoscaler", "cold_start_duration_seconds"),
      help:
        "From the start of the revision's earliest pod to the tick that saw one ready (tick resolution), " +
        "per cold start: pending time and app start-up included.",
      labelNames: LABELS,
      buckets: COLD_START_BUCKETS,
      registers: [registry],
    });
    const traffic = new Gauge({
      // A ratio, not a percent: Prometheus's base unit, comparable with a rate() share as it is.
      name: metricName("autoscaler", "traffic_ratio"),
      help: "The share of its service's main traffic split a revision is meant to get (0–1), as published.",
      labelNames: LABELS,
      registers: [registry],
      collect() {
        traffic.reset();
        for (const service of services()) {
          const byRevision = new Map<string, number>();
          for (const target of service.traffic)
            byRevision.set(target.revision, (byRevision.get(target.revision) ?? 0) + target.percent);
          for (const [revision, percent] of byRevision)
            traffic.set({ service: service.name, namespace: service.namespace, revision }, percent / 100);
        }
      },
    });
  }

  /** `pods`: the revision's pods as the platform has them, pending ones included. */
  record(runtime: RevisionRuntime, pods: readonly PodStatus[], now = Date.now()): void {
    const labels = this.#labels(runtime);
    const decision = runtime.lastDecision;
    let ready = 0;
    let pending = 0;
    for (const pod of pods) {
      if (pod.phase === "ready") ready++;
      else if (pod.phase === "pending") pending++;
    }
    this.#gauges.desired.set(labels, runtime.desired);
    this.#gauges.ready.set(labels, ready);
    this.#gauges.actual.set(labels, pods.length - pending);
    this.#gauges.pending.set(labels, pending);
    this.#gauges.stable.set(labels, decision?.observedStable ?? 0);
    this.#gauges.panic.set(labels, decision?.observedPanic ?? 0);
    this.#gauges.panicking.set(labels, decision?.panicking ? 1 : 0);
    this.#gauges.burst.set(labels, decision?.excessBurstCapacity ?? 0);
    this.#gauges.concurrencyLimit.set(labels, runtime.template.containerConcurrency);
    this.#coldStarts.inc(labels, 0); // the series exists from the revision's first tick
    // A revision first seen with ready pods (adopted after a restart) did not start cold here.
    const before = this.#readyBefore.get(runtime.key) ?? ready;
    this.#readyBefore.set(runtime.key, ready);
    if (before === 0 && ready > 0) {
      const started = Math.min(...pods.filter((pod) => pod.phase !== "pending").map((pod) => pod.startedAt));
      this.#coldStarts.inc(labels);
      if (Number.isFinite(started)) this.#coldStartSeconds.observe(labels, Math.max(0, now - started) / 1000);
    }
  }

  forget(runtime: RevisionRuntime): void {
    const labels = this.#labels(runtime);
    for (const gauge of Object.values(this.#gauges)) gauge.remove(labels);
    this.#coldStarts.remove(labels);
    this.#coldStartSeconds.remove(labels);
    this.#readyBefore.delete(runtime.key);
  }

  #labels(runtime: RevisionRuntime) {
    return {
      service: runtime.revision.service,
      namespace: runtime.revision.namespace,
      revision: runtime.revision.name,
    };
  }
}
