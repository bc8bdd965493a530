import { revisionKey } from "../common/state.ts";
import type { ComponentStatus } from "../common/status.ts";
import type { RevisionPods } from "../platform/platform.ts";

/**
 * GET /v1/prometheus/targets: every process with a /metrics endpoint, in Prometheus's HTTP
 * service-discovery format (`http_sd_configs`): a JSON array of target groups, each
 * `{"targets": ["host:port"], "labels": {...}}`. One scrape config then finds the router, the
 * activator, the autoscaler and every pod's queue-proxy as pods come and go. Pure.
 */

/** One group of Prometheus's HTTP SD format. Label names must match [a-zA-Z_][a-zA-Z0-9_]*. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface TargetSources {
  /** host:port this autoscaler was reached at (the request's Host): its own /metrics. */
  self: string;
  /** What `sluice up` last reported of its processes (PUT /v1/components); absent when alone. */
  components: readonly ComponentStatus[] | undefined;
  /** Active services with their revisions' names (Controller.services()). */
  services: readonly { namespace: string; name: string; revisions: readonly string[]; active: boolean }[];
  /** The platform's pods of a revision, by revisionKey. */
  pods: (key: string) => RevisionPods | undefined;
}

/**
 * The port of a component's report that serves /metrics: the admin port where there is one (the
 * router's and activator's), else the one port (the autoscaler's API).
 */
const METRICS_PORT_KEYS = ["metricsPort", "adminPort", "port"] as const;

export function prometheusTargets({ self, components, services, pods }: TargetSources): TargetGroup[] {
  const groups: TargetGroup[] = [{ targets: [self], labels: { component: "autoscaler" } }];
  for (const component of components ?? []) {
    // A restarting or failed component stays listed: its failed scrapes (up == 0) are the alert.
    if (component.name === "autoscaler" || component.state === "stopped") continue;
    const key = METRICS_PORT_KEYS.find((k) => (component.ports[k] ?? 0) > 0);
    if (!key) continue;
    groups.push({
      targets: [`127.0.0.1:${component.ports[key]}`],
      labels: { component: component.name },
    });
  }
  for (const service of services) {
    if (!service.active) continue;
    for (const revision of service.revisions) {
      for (const pod of pods(revisionKey(service.namespace, revision))?.pods ?? []) {
        const target = hostPort(pod.adminUrl);
        if (!target || pod.phase === "pending") continue;
        groups.push({
          targets: [target],
          labels: {
            component: "queue-proxy",
            namespace: service.namespace,
            service: service.name,
            revision,
            pod: pod.name,
          },
        });
      }
    }
  }
  return groups;
}

/** "http://10.0.0.7:8022" → "10.0.0.7:8022"; undefined for a missing or unparsable URL. */
function hostPort(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const { host } = new URL(url);
    return host || undefined;
  } catch {
    return undefined;
  }
}
