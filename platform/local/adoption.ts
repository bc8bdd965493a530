import type { ProcessState } from "./process-identity.ts";

/** What a restarted platform finds of a pod its previous instance recorded. */
export interface ObservedPod {
  /** Whether some revision known now owns the pod. */
  knownRevision: boolean;
  app: ProcessState;
  /** undefined: the record has no queue-proxy (the platform died while starting the pod). */
  queueProxy: ProcessState | undefined;
  /** The queue-proxy's admin /readyz: true (200), false (503), undefined (no answer). */
  ready: boolean | undefined;
}

export type AdoptionVerdict =
  | { action: "adopt"; ready: boolean }
  /** Stop whichever of its processes still run (never a reused pid: "other"), then forget it. */
  | { action: "kill"; reason: string };

/** Whether a recorded pod can be adopted: it must be whole, ours, alive and answering. */
export function adoptionVerdict(pod: ObservedPod): AdoptionVerdict {
  if (!pod.knownRevision) return { action: "kill", reason: "its revision is no longer known" };
  if (pod.queueProxy === undefined) return { action: "kill", reason: "it was never fully started" };
  if (pod.app !== "same") return { action: "kill", reason: "its app is gone" };
  if (pod.queueProxy !== "same") return { action: "kill", reason: "its queue-proxy is gone" };
  if (pod.ready === undefined) return { action: "kill", reason: "its queue-proxy does not answer" };
  return { action: "adopt", ready: pod.ready };
}
