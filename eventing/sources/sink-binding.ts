import { resolveSink, type SourceOptions } from "../resources/compile-sources.ts";
import type { SinkBindingManifest } from "../resources/source-manifest.ts";

// SinkBinding (sources.knative.dev/v1): a Service that emits events gets K_SINK, the URL of its
// sink, in its environment (and K_CE_OVERRIDES, the binding's ceOverrides as JSON), so its code
// posts CloudEvents there without knowing where that is. This is the pure half: which
// environment each Service gets. Putting it into the pods' environment is the platform's job:
// locally autoscaler/sink-bindings.ts (pod-template.ts), on Kubernetes
// platform/kubernetes/sink-binding-env.ts (the revision Deployment's env, so a changed binding
// rolls it, as Knative's webhook re-injects into the pod template).
//
// A K_SINK that names a sluice Service is the router's URL; its Host (the Service's
// {name}.{namespace}.{domain}) is not carried by a URL, so K_SINK for a Service sink is written
// as the Service's own address http://{name}.{namespace}.{domain}, which reaches the router
// wherever that name resolves to it (Knative's form), with K_SINK_ROUTER giving the router's
// address for a process that must dial it directly.

export interface BoundService {
  namespace: string;
  name: string;
  labels?: Readonly<Record<string, string>>;
}

export interface SinkEnv {
  K_SINK: string;
  K_SINK_ROUTER?: string;
  K_CE_OVERRIDES?: string;
}

/** Whether `binding` selects `service` (by name, or by selector.matchLabels; same namespace). */
export function bindsTo(binding: SinkBindingManifest, service: BoundService): boolean {
  const namespace = binding.metadata.namespace ?? "default";
  const { subject } = binding.spec;
  if ((subject.namespace ?? namespace) !== service.namespace || namespace !== service.namespace) return false;
  if (subject.name !== undefined) return subject.name === service.name;
  const labels = subject.selector?.matchLabels ?? {};
  return Object.entries(labels).every(([k, v]) => service.labels?.[k] === v);
}

/**
 * The environment a Service gets from the bindings that select it; undefined when none does.
 * When several do, the first by namespace/name wins (Knative refuses such overlaps; sluice
 * picks one the same way every time).
 */
export function sinkBindingEnv(
  bindings: readonly SinkBindingManifest[],
  service: BoundService,
  options: SourceOptions,
): SinkEnv | undefined {
  const binding = bindings
    .filter((b) => bindsTo(b, service))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
  if (!binding) return undefined;
  const target = resolveSink(binding.spec.sink, service.namespace, options);
  const env: SinkEnv = { K_SINK: target.url };
  if (target.host !== undefined) {
    const path = new URL(target.url).pathname;
    env.K_SINK = `http://${target.host}${path === "/" ? "" : path}`;
    env.K_SINK_ROUTER = target.url;
  }
  const overrides = binding.spec.ceOverrides;
  if (overrides?.extensions && Object.keys(overrides.extensions).length > 0)
    env.K_CE_OVERRIDES = JSON.stringify({ extensions: overrides.extensions });
  return env;
}
