import type { Readable } from "node:stream";
import type { BodySink, RawRequest } from "./raw-request.ts";
import { UNSTAMPED, UNTIMED } from "./sweep-stamp.ts";

/** undici's dispatch handler, the part the Exchange implements: both pools drive the same one. */
export interface UpstreamHandler {
  onRequestStart?(controller: UpstreamRequest, context: unknown): void;
  onResponseStart?(
    controller: UpstreamRequest,
    status: number,
    headers: Record<string, string | string[]>,
    statusMessage?: string,
  ): void;
  /**
   * The raw pool's form of onResponseStart, preferred when the handler has it: the head's headers
   * as llhttp framed them (a flat name, value list), with no object made.
   */
  onRawResponseStart?(
    controller: UpstreamRequest,
    status: number,
    rawHeaders: readonly string[],
    statusMessage: string,
  ): void;
  onResponseData?(controller: UpstreamRequest, chunk: Buffer): void;
  onResponseEnd?(controller: UpstreamRequest, trailers: Record<string, string | string[]>): void;
  onResponseError?(controller: UpstreamRequest, error: Error): void;
}

export interface UpstreamDispatch {
  origin?: string | URL;
  /**
   * The origin's Unix socket, when it also listens on one on this machine (a local pod's
   * queue-proxy): the raw path connects there, for less kernel work per request than loopback TCP.
   * undici's pools ignore it and use the origin.
   */
  socketPath?: string;
  path: string;
  method: string;
  headers?: string[] | null;
  /** A raw-path request (its body pushed by the client's parser), a stream (node:http), or none. */
  body?: RawRequest | Readable | null;
}

/** What the request asks of the connection carrying it. */
export interface RequestCarrier {
  pause(): void;
  resume(): void;
  abort(request: UpstreamRequest, reason: Error): void;
  writeBody(request: UpstreamRequest, chunk: Buffer): boolean;
  endBody(request: UpstreamRequest): void;
}

/**
 * One request on the raw upstream pool: its handler, and the controller (pause, resume, abort)
 * the handler gets. A request apart from its connection, so that a late pause or resume from a
 * finished exchange cannot touch the connection's next request.
 */
export class UpstreamRequest implements BodySink {
  readonly options: UpstreamDispatch;
  readonly handler: UpstreamHandler;
  readonly isHead: boolean;
  carrier: RequestCarrier | null = null;
  aborted = false;
  paused = false;
  reason: Error | null = null;
  /** The whole request (body included) has been written. */
  sent = false;
  /** Response head seen; done: complete or failed (the handler hears nothing more). */
  responding = false;
  done = false;
  /**
   * For the pool's timeouts: when the request went out, and the last response bytes came; UNSTAMPED:
   * since the sweep last looked (it stamps the time, so the request path reads no clock).
   */
  sentAt = UNTIMED;
  lastDataAt = UNTIMED;

  constructor(options: UpstreamDispatch, handler: UpstreamHandler) {
    this.options = options;
    this.handler = handler;
    this.isHead = options.method === "HEAD";
  }

  // controller --------------------------------------------------------------------------------

  abort(reason: Error): void {
    if (this.done) return;
    this.aborted = true;
    this.reason = reason;
    if (this.carrier !== null) this.carrier.abort(this, reason);
    else this.fail(reason);
  }

  pause(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.carrier?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastDataAt = UNSTAMPED; // the body timeout starts afresh (as undici's), not from before the pause
    if (!this.done) this.carrier?.resume();
  }

  // body sink ---------------------------------------------------------------------------------

  write(chunk: Buffer): boolean {
    if (this.done || this.carrier === null) return true;
    return this.carrier.writeBody(this, chunk);
  }

  end(): void {
    if (this.done || this.carrier === null) return;
    this.carrier.endBody(this);
  }

  // ending ------------------------------------------------------------------------------------

  /** Reports `error` to the handler once, and lets go of the body. */
  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.releaseBody();
    this.handler.onResponseError?.(this, error);
  }

  releaseBody(): void {
    const body = this.options.body;
    if (body === null || body === undefined) return;
    // A body never taken stays whole for a retry; the client's connection drops it if none comes.
    if ("attach" in body) {
      if (body.readableDidRead) body.discard();
    } else body.removeAllListeners("data").removeAllListeners("end");
  }
}
