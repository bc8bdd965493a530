// A metrics registry that loads prom-client (~18 MB of RSS and ~30 ms of CPU at start) only when
// it is first scraped, or at once when asked to (a component with a metrics port). Until then it
// keeps the metrics registered against it and hands them, in order, to the real registry after
// the process metrics, as createRegistry would have had them. The process metrics that sample
// over time (event loop lag, GC) start with the real registry.
import type { Metric, Registry } from "prom-client";
import { processMetricsPrefix } from "./metric-name.ts";

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE, until prom-client is loaded. */
const TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

class DeferredRegistry {
  contentType = TEXT_FORMAT;
  readonly #prefix: string;
  readonly #pending: Metric[] = [];
  #registry: Registry | undefined;
  #loading: Promise<Registry> | undefined;

  constructor(component: string) {
    this.#prefix = processMetricsPrefix(component);
  }

  registerMetric(metric: Metric): void {
    if (this.#registry) {
      this.#registry.registerMetric(metric);
      return;
    }
    const { name } = metric as unknown as { name: string };
    if (this.getSingleMetric(name))
      throw new Error(`A metric with the name ${name} has already been registered.`);
    this.#pending.push(metric);
  }

  getSingleMetric(name: string): Metric | undefined {
    if (this.#registry) return this.#registry.getSingleMetric(name);
    return this.#pending.find((metric) => (metric as unknown as { name: string }).name === name);
  }

  async metrics(): Promise<string> {
    return (await this.load()).metrics();
  }

  /** Loads prom-client and starts the process metrics (once). */
  load(): Promise<Registry> {
    this.#loading ??= import("prom-client").then(({ Registry, collectDefaultMetrics }) => {
      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: this.#prefix });
      for (const metric of this.#pending.splice(0)) registry.registerMetric(metric);
      this.#registry = registry;
      this.contentType = registry.contentType;
      return registry;
    });
    return this.#loading;
  }
}

/**
 * A component's registry (as createRegistry's) that loads prom-client at the first scrape, or
 * right away with `{ now: true }`. Typed as prom-client's Registry for the code that takes one: of
 * its members, registerMetric, getSingleMetric, metrics and contentType are there (all that the
 * admin server and the metric classes use).
 */
export function createDeferredRegistry(component: string, { now = false } = {}): Registry {
  const registry = new DeferredRegistry(component);
  if (now) void registry.load();
  return registry as unknown as Registry;
}
