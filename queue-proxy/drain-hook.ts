import type { AdminRoute } from "../common/http/admin-server.ts";
import { sendPlain } from "../common/http/respond.ts";
import type { Logger } from "../common/log.ts";
import type { Drainer } from "./drain.ts";

/** Knative's path (pkg/queue RequestQueueDrainPath): the user containers' preStop httpGet. */
export const WAIT_FOR_DRAIN_PATH = "/wait-for-drain";

/**
 * How soon after the hook SIGTERM must arrive for its drain to stand (Knative: 1 s). The kubelet
 * runs a container's preStop hook when the pod is deleted, and the queue-proxy, which has no hook,
 * gets SIGTERM at the same moment. But it also runs the hook before restarting a container whose
 * liveness or startup probe failed, and then no SIGTERM comes: the pod stays, so the drain is
 * cancelled and the queue-proxy ready again rather than out of every endpoint list for good.
 */
export const CONFIRM_MS = 1000;

/** How a hook's wait ended. */
export type DrainOutcome = "drained" | "timeout" | "cancelled";

const ANSWERS: Record<DrainOutcome, string> = {
  drained: "drained",
  timeout: "drain timeout reached",
  cancelled: "no SIGTERM followed (a container restart, not the pod's deletion): drain cancelled",
};

/**
 * The preStop hook and SIGTERM share one drain: whichever comes first starts it, the other joins
 * it. The hook is answered once drained (idle, and quiet for the quiet period) or at the drain
 * timeout, so the kubelet holds the user container's SIGTERM until nothing is left for it to
 * answer; the queue-proxy exits at the same point.
 */
export class DrainHook {
  readonly #drainer: Pick<Drainer, "drain" | "cancel">;
  readonly #confirmMs: number;
  #terminating = false;
  /** The one hook wait under way, shared by concurrent calls. */
  #waiting: Promise<DrainOutcome> | undefined;
  /** Ends the confirm window of that wait early, when SIGTERM arrives. */
  #confirm: (() => void) | undefined;

  constructor(drainer: Pick<Drainer, "drain" | "cancel">, confirmMs = CONFIRM_MS) {
    this.#drainer = drainer;
    this.#confirmMs = confirmMs;
  }

  /** GET /wait-for-drain: starts or joins the drain; resolves when the hook may be answered. */
  wait(): Promise<DrainOutcome> {
    this.#waiting ??= this.#wait().finally(() => {
      this.#waiting = undefined;
    });
    return this.#waiting;
  }

  /**
   * SIGTERM: the drain (the hook's, or a new one) is final. Resolves with whether it ended
   * cleanly, after every hook waiting for it has been answered.
   */
  async terminate(): Promise<boolean> {
    this.#terminating = true;
    this.#confirm?.();
    const clean = await this.#drainer.drain();
    await this.#waiting;
    return clean;
  }

  async #wait(): Promise<DrainOutcome> {
    const drained = this.#drainer.drain();
    if (!(await this.#confirmed())) {
      this.#drainer.cancel();
      return "cancelled";
    }
    return (await drained) ? "drained" : "timeout";
  }

  /** True once SIGTERM has arrived; false when the confirm window passes without it. */
  #confirmed(): Promise<boolean> {
    if (this.#terminating) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#confirm = undefined;
        resolve(false);
      }, this.#confirmMs);
      this.#confirm = () => {
        this.#confirm = undefined;
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

/** The admin route: GET only, answered 200 with how the wait ended (the kubelet reads no body). */
export function waitForDrainRoute(hook: DrainHook, log: Logger): AdminRoute {
  return async (req, res) => {
    if (req.method !== "GET") {
      return sendPlain(res, 405, `${WAIT_FOR_DRAIN_PATH} takes GET`, { allow: "GET" });
    }
    log.info("preStop hook: draining");
    const outcome = await hook.wait();
    if (outcome === "cancelled") log.warn(ANSWERS.cancelled);
    else log.info({ outcome }, "preStop hook answered");
    sendPlain(res, 200, ANSWERS[outcome], { connection: "close" });
  };
}
