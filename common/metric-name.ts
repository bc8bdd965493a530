/** Metric name following the project's sluice_<component>_<what>_<unit> convention. */
export function metricName(component: string, what: string): string {
  return `sluice_${component.replaceAll("-", "_")}_${what}`;
}

/** The prefix of a component's process metrics (CPU, memory, event loop lag): sluice_<component>_. */
export function processMetricsPrefix(component: string): string {
  return `sluice_${component.replaceAll("-", "_")}_`;
}
