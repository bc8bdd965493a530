import type { IncomingMessage, ServerResponse } from "node:http";
import {
  DISPATCHED,
  type DispatchController,
  Exchange,
  neverConnected,
  WAITING,
  worthRetrying,
} from "../common/http/proxy-exchange.ts";
import type { RevisionEntry } from "./revision-table.ts";

/** Pods tried per request; each failure also takes its pod out of use (until a probe passes, or a pause without a hop secret). */
const MAX_ATTEMPTS = 3;

/**
 * How long past the revision timeout the activator lets a request it has sent to a pod run. The
 * queue-proxy enforces the same timeout from when it took the request, a little later than the
 * activator did: were the activator to answer at the same deadline, the two would race and the
 * queue-proxy's span would show its client gone (499) instead of the timeout. So the queue-proxy
 * answers 504 and the activator passes it on; the activator answers itself only when the wait for
 * a pod used more than this of the request's time, or the pod does not answer at all. Below the
 * router's slack (ROUTER_TIMEOUT_SLACK_SECONDS, 1 s), so the router stays the last to give up.
 */
export const QUEUE_PROXY_GRACE_MS = 500;

/**
 * The activator's exchange: the shared one, plus one thing. A pod that refuses the connection is
 * gone though the state still lists it (it crashed, or the autoscaler is restarting and has not
 * noticed); the request never reached it, so it goes back to the revision's throttler to wait for
 * a usable pod, instead of failing with 502. Bounded by the revision's timeout.
 */
export class ActivatorExchange extends Exchange {
  readonly #entry: RevisionEntry;
  #attempts = 1;
  /** Past the revision timeout, in the entry's grace list (QUEUE_PROXY_GRACE_MS). */
  #graced = false;

  constructor(
    entry: RevisionEntry,
    req: IncomingMessage,
    res: ServerResponse,
    headers: string[],
    hasBody: boolean,
  ) {
    super(entry.ctx, req, res, headers, hasBody, false);
    this.#entry = entry;
  }

  override expire(): void {
    if (this.admitted && !this.#graced) {
      this.#graced = true;
      this.#entry.grace.add(this);
      return;
    }
    super.expire();
  }

  override finish(): void {
    // Out of the grace list before the shared finish looks for it in the revision's own.
    if (this.#graced) {
      this.#graced = false;
      this.#entry.grace.remove(this);
    }
    super.finish();
  }

  override onResponseError(controller: DispatchController, error: Error): void {
    if (!this.#mayRetry(error)) {
      super.onResponseError(controller, error);
      return;
    }
    this.#attempts++;
    // Out of use first, so that the release below cannot hand the same pod to a waiting request.
    // (A lost keep-alive connection says nothing of the pod: a new one tells, refused or not.)
    if (this.origin !== undefined && neverConnected(error)) this.#entry.podUnreachable(this.origin);
    this.ctx.gate.release(this);
    this.controller = null;
    this.admitted = false;
    this.state = WAITING;
    this.enterGate();
  }

  /**
   * Attempts left, no answer yet, and either a connect failure with a body (if any) nobody has
   * read (undici reads it once connected), or an idempotent bodiless request whose connection was
   * lost before any answer (a pod killed just now, or its keep-alive closed as it was reused).
   */
  #mayRetry(error: Error): boolean {
    if (this.state !== DISPATCHED || this.#attempts >= MAX_ATTEMPTS) return false;
    if (!worthRetrying(error, this.req.method, this.hasBody)) return false;
    const { req } = this;
    return !this.hasBody || (!req.readableDidRead && !req.destroyed && req.readableFlowing !== true);
  }
}
