import { Gauge, type Registry } from "prom-client";
import { metricName } from "../common/metrics.ts";
import type { PodStatus } from "../platform/platform.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

const LABELS = ["service", "namespace", "revision"] as const;

/** Per-revision autoscaling gauges, set once per tick. */
export class AutoscalerMetrics {
  readonly #gauges: Record<string, Gauge<(typeof LABELS)[number]>>;

  constructor(registry: Registry) {
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
    };
  }

  /** `pods`: the revision's pods as the platform has them, pending ones included. */
  record(runtime: RevisionRuntime, pods: readonly PodStatus[]): void {
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
  }

  forget(runtime: RevisionRuntime): void {
    for (const gauge of Object.values(this.#gauges)) gauge.remove(this.#labels(runtime));
  }

  #labels(runtime: RevisionRuntime) {
    return {
      service: runtime.revision.service,
      namespace: runtime.revision.namespace,
      revision: runtime.revision.name,
    };
  }
}
