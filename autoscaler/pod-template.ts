import type { PodTemplate } from "../platform/platform.ts";
import type { Revision } from "../serving/revisions.ts";

/**
 * What the platform needs to run a pod of `revision`. `injected` is set over the container's own
 * environment: K_SINK and its kin from a SinkBinding (sink-bindings.ts), which wins over a K_SINK
 * the manifest sets, as Knative's webhook overwrites it.
 */
export function podTemplate(
  revision: Revision,
  injected: Readonly<Record<string, string>> = {},
): PodTemplate {
  const spec = revision.template.spec;
  const container = spec.containers.find((c) => (c.ports?.length ?? 0) > 0) ?? spec.containers[0];
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    // valueFrom (secrets, config maps, field refs) needs Kubernetes; locally such a variable is unset.
    if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  Object.assign(env, injected);
  return {
    service: revision.service,
    namespace: revision.namespace,
    configuration: revision.service,
    revision: revision.name,
    containerConcurrency: spec.containerConcurrency ?? 0,
    timeoutSeconds: spec.timeoutSeconds ?? 300,
    responseStartTimeoutSeconds: spec.responseStartTimeoutSeconds,
    idleTimeoutSeconds: spec.idleTimeoutSeconds,
    command: container.command ?? [],
    args: container.args ?? [],
    env,
    workingDir: container.workingDir,
    protocol: container.ports?.[0]?.name === "h2c" ? "h2c" : "http1",
    readinessProbe: container.readinessProbe,
  };
}
