import type { PodPhase } from "../platform.ts";

/** Failed readiness polls in a row after which a ready pod counts as not ready (Kubernetes' default). */
export const FAILURE_THRESHOLD = 3;

export interface ProbeState {
  phase: PodPhase;
  everReady: boolean;
  /** Polls in a row that got no answer. */
  unanswered: number;
}

/**
 * The pod's phase after one poll of its queue-proxy's /readyz: true (200), false (503) or
 * undefined (no answer). Terminating and crashed pods are the platform's to change, not the poll's.
 */
export function afterProbe(state: ProbeState, ready: boolean | undefined): ProbeState {
  if (state.phase === "terminating" || state.phase === "crashed") return state;
  if (ready === true) return { phase: "ready", everReady: true, unanswered: 0 };
  if (ready === false) {
    return { ...state, phase: state.everReady ? "not-ready" : "starting", unanswered: 0 };
  }
  // No answer: a queue-proxy still starting, or one too busy to answer now and then.
  const unanswered = state.unanswered + 1;
  const down = state.phase === "ready" && unanswered >= FAILURE_THRESHOLD;
  return { ...state, phase: down ? "not-ready" : state.phase, unanswered };
}
