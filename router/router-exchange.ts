import type { IncomingMessage, ServerResponse } from "node:http";
import {
  DISPATCHED,
  type DispatchController,
  Exchange,
  worthRetrying,
} from "../common/http/proxy-exchange.ts";
import type { PodSlot } from "./pod-balancer.ts";
import type { RevisionTarget, RouterWaiter } from "./revision-target.ts";

/**
 * The router's exchange: the shared one (streaming, trailers, timeouts, cancel on disconnect),
 * plus a revision target as its gate, the revision (and hop secret) for the activator, and one
 * retry through the activator for a request whose pod could not be connected to — a pod gone
 * while the state still lists it (e.g. the autoscaler restarting). The activator probes pods
 * before use and holds the request until one is ready, so the client sees no 502.
 */
export class RouterExchange extends Exchange implements RouterWaiter {
  readonly target: RevisionTarget;
  slot: PodSlot | null = null;
  viaActivator = false;
  #namedRevision = false;

  constructor(
    target: RevisionTarget,
    req: IncomingMessage,
    res: ServerResponse,
    headers: string[],
    hasBody: boolean,
  ) {
    super(target.ctx, req, res, headers, hasBody, false);
    this.target = target;
  }

  override admit(): void {
    if (this.slot === null && !this.#namedRevision) {
      this.headers.push(...this.target.activatorHeaders);
      this.#namedRevision = true;
    }
    super.admit();
  }

  override onResponseError(controller: DispatchController, error: Error): void {
    if (this.state === DISPATCHED) this.target.counters.upstreamErrors++;
    if (this.#mayRetry(error)) {
      this.target.counters.retries++;
      this.viaActivator = true;
      this.ctx.gate.release(this);
      this.controller = null;
      this.ctx.gate.enter(this);
      this.admit();
      return;
    }
    super.onResponseError(controller, error);
  }

  /**
   * Only a request that went to a pod and either failed to connect, with a body (if any) nobody has
   * read yet (undici reads the body only once connected, so it is still whole: any method, the app
   * cannot have seen it), or is idempotent and bodiless and lost its connection before any answer.
   */
  #mayRetry(error: Error): boolean {
    if (this.state !== DISPATCHED || this.viaActivator || this.slot === null) return false;
    if (!worthRetrying(error, this.req.method, this.hasBody)) return false;
    const { req } = this;
    return !this.hasBody || (!req.readableDidRead && !req.destroyed && req.readableFlowing !== true);
  }
}
