import type { IncomingMessage, ServerResponse } from "node:http";
import {
  DISPATCHED,
  type DispatchController,
  Exchange,
  neverConnected,
  WAITING,
} from "../common/http/proxy-exchange.ts";
import type { RevisionEntry } from "./revision-table.ts";

/** Pods tried per request; each failure also takes its pod out of use until it is probed again. */
const MAX_ATTEMPTS = 3;

/**
 * The activator's exchange: the shared one, plus one thing. A pod that refuses the connection is
 * gone though the state still lists it (it crashed, or the autoscaler is restarting and has not
 * noticed); the request never reached it, so it goes back to the revision's throttler to wait for
 * a pod that answers its probe, instead of failing with 502. Bounded by the revision's timeout.
 */
export class ActivatorExchange extends Exchange {
  readonly #entry: RevisionEntry;
  #attempts = 1;

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

  override onResponseError(controller: DispatchController, error: Error): void {
    if (!this.#mayRetry(error)) {
      super.onResponseError(controller, error);
      return;
    }
    this.#attempts++;
    // Out of use first, so that the release below cannot hand the same pod to a waiting request.
    if (this.origin !== undefined) this.#entry.podUnreachable(this.origin);
    this.ctx.gate.release(this);
    this.controller = null;
    this.admitted = false;
    this.state = WAITING;
    const entered = this.ctx.gate.enter(this);
    if (entered === "admitted") this.admit();
    else if (entered === "rejected") {
      this.ctx.metrics.rejected.inc();
      this.fail(503, "activator: pending request queue full", { "retry-after": "1" });
    }
  }

  /** A connect failure, attempts left, and a body (if any) nobody has read: undici reads it once connected. */
  #mayRetry(error: Error): boolean {
    if (this.state !== DISPATCHED || this.#attempts >= MAX_ATTEMPTS) return false;
    if (!neverConnected(error)) return false;
    const { req } = this;
    return !this.hasBody || (!req.readableDidRead && !req.destroyed && req.readableFlowing !== true);
  }
}
