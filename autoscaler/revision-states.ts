import type { RevisionState } from "../common/state.ts";
import type { RevisionPods } from "../platform/platform.ts";
import type { RevisionRuntime } from "./revision-runtime.ts";

/**
 * The published state of each running revision (by revisionKey): what the router and activator
 * need — mode, limits, timeouts, ready endpoints, a failure to report. `pods` reads the platform.
 */
export function revisionStates(
  running: Iterable<RevisionRuntime>,
  pods: (key: string) => RevisionPods | undefined,
): Record<string, RevisionState> {
  const states: Record<string, RevisionState> = {};
  for (const runtime of running) {
    const current = pods(runtime.key);
    const spec = runtime.revision.template.spec;
    states[runtime.key] = {
      name: runtime.revision.name,
      service: runtime.revision.service,
      namespace: runtime.revision.namespace,
      mode: runtime.mode,
      containerConcurrency: spec.containerConcurrency ?? 0,
      timeoutSeconds: spec.timeoutSeconds ?? 300,
      ...(spec.responseStartTimeoutSeconds
        ? { responseStartTimeoutSeconds: spec.responseStartTimeoutSeconds }
        : {}),
      ...(spec.idleTimeoutSeconds ? { idleTimeoutSeconds: spec.idleTimeoutSeconds } : {}),
      protocol: runtime.template.protocol,
      desiredPods: runtime.desired,
      endpoints: (current?.pods ?? [])
        .filter((pod) => pod.phase === "ready" && pod.url)
        .map((pod) => ({
          pod: pod.name,
          url: pod.url as string,
          ...(pod.socket === undefined ? {} : { socket: pod.socket }),
        })),
      ...(current?.failure ? { failure: current.failure } : {}),
    };
  }
  return states;
}
