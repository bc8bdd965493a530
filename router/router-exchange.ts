import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { DISPATCHED, Exchange } from "../common/http/proxy-exchange.ts";
import type { PodSlot } from "./pod-balancer.ts";
import type { RevisionTarget, RouterWaiter } from "./revision-target.ts";

type DispatchController = Parameters<NonNullable<Dispatcher.DispatchHandler["onRequestStart"]>>[0];

/** The request header that tells the activator which revision a request is for. */
export const REVISION_HEADER = "sluice-revision";

// Errors raised before a single byte of the request could have reached the pod.
const NOT_CONNECTED = new Set([
  "ECONNREFUSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/**
 * The router's exchange: the shared one (streaming, trailers, timeouts, cancel on disconnect),
 * plus a revision target as its gate, the revision named for the activator, and one retry on
 * another pod for a request that is safe to repeat and never reached its pod.
 */
export class RouterExchange extends Exchange implements RouterWaiter {
  readonly target: RevisionTarget;
  slot: PodSlot | null = null;
  avoid: PodSlot | undefined = undefined;
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
      this.headers.push(REVISION_HEADER, this.target.name);
      this.#namedRevision = true;
    }
    super.admit();
  }

  override onResponseError(controller: DispatchController, error: Error): void {
    if (this.state === DISPATCHED) this.target.counters.upstreamErrors++;
    if (this.#mayRetry(error)) {
      this.target.counters.retries++;
      this.avoid = this.slot ?? undefined;
      this.ctx.gate.release(this);
      this.controller = null;
      this.ctx.gate.enter(this);
      this.admit();
      return;
    }
    super.onResponseError(controller, error);
  }

  #mayRetry(error: Error): boolean {
    return (
      this.state === DISPATCHED &&
      this.avoid === undefined &&
      this.slot !== null &&
      !this.hasBody &&
      SAFE_METHODS.has(this.req.method ?? "") &&
      NOT_CONNECTED.has((error as { code?: string }).code ?? "")
    );
  }
}
