import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A registry per component with the process metrics (CPU, memory, event loop lag) under
 * sluice_<component>_. Components create their own metrics against it.
 */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `sluice_${component.replaceAll("-", "_")}_` });
  return registry;
}

/** Metric name following the project's sluice_<component>_<what>_<unit> convention. */
export function metricName(component: string, what: string): string {
  return `sluice_${component.replaceAll("-", "_")}_${what}`;
}
