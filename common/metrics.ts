import { collectDefaultMetrics, Registry } from "prom-client";
import { processMetricsPrefix } from "./metric-name.ts";

export { metricName } from "./metric-name.ts";

/**
 * A registry per component with the process metrics (CPU, memory, event loop lag) under
 * sluice_<component>_. Components create their own metrics against it. A component that should
 * not load prom-client before its first scrape uses deferred-registry.ts instead.
 */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: processMetricsPrefix(component) });
  return registry;
}
