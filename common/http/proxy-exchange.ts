import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { ConcurrencyStats } from "../concurrency-stats.ts";
import type { Logger } from "../log.ts";
import { parseTraceparent } from "../traceparent.ts";
import type { ChildSpan, RequestSpan, Tracer } from "../tracing.ts";
import type { DeadlineEntry, DeadlineList } from "./deadline-list.ts";
import { sendGrpcTrailersOnly } from "./grpc-trailers-only.ts";
import { firstOfSingleValue } from "./h2-single-value.ts";
import { endToEndHeaderObject, endToEndResponseHeaders } from "./hop-by-hop.ts";
import { addHeaders } from "./raw/header-object.ts";
import type { UpstreamDispatch } from "./raw/upstream-request.ts";
import { requestHeader } from "./request-headers.ts";
import { startRequestSpan } from "./request-span.ts";
import { sendPlain } from "./respond.ts";

/** A waiter the gate admits later (queued) by calling admit(). */
export interface GateWaiter {
  admit(): void;
  /** Where to send the request; a gate that picks among pods sets it before admitting. */
  origin: string | undefined;
  /**
   * The same pod's Unix socket on this machine, when it has one (UpstreamDispatch.socketPath); a
   * WebSocket tunnel ignores it and connects to the origin.
   */
  socketPath?: string | undefined;
}

/**
 * What decides when a request may go upstream: the queue-proxy's breaker (one app, a concurrency
 * limit) or the activator's throttler (a revision's pods and their capacity).
 */
export interface Gate {
  /** Admits at once ("admitted", without calling admit()), queues, or rejects. */
  enter(waiter: GateWaiter): "admitted" | "queued" | "rejected";
  /** A queued waiter gives up. */
  leave(waiter: GateWaiter): boolean;
  /** An admitted request finished. */
  release(waiter: GateWaiter): void;
}

export interface ExchangeMetrics {
  observe(code: number, seconds: number): void;
  rejected: { inc(): void };
  timeouts: { inc(): void };
}

/** Everything an exchange needs, built once (per process, or per revision in the activator). */
export interface ExchangeContext {
  /** Names the hop in the data plane's own replies ("queue-proxy: …"). */
  component: string;
  upstream: Dispatcher;
  /**
   * The upstream speaks HTTP/2 (h2c): it sends a request's head at once, body or not. Over
   * HTTP/1.1 undici sends the head only with the first body byte, so there a request with a body
   * waits for that byte before it goes upstream (see Exchange.start).
   */
  upstreamH2?: boolean;
  gate: Gate;
  stats: ConcurrencyStats;
  deadlines: DeadlineList;
  metrics: ExchangeMetrics;
  log: Logger;
  accessLog: boolean;
  timeoutMs: number;
  /** Set during drain: responses carry Connection: close so clients move to another pod. */
  draining: boolean;
  /** Headers added to every upstream request (the activator marks its requests). */
  extraHeaders?: readonly string[];
  /** Headers added to every response from upstream (the router's Sluice-Revision). */
  responseHeaders?: readonly string[];
  /** Makes this hop's span per request when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT). */
  tracer?: Tracer;
  /** The revision, for spans. */
  revision?: string;
  /** What a request still waiting at its deadline is told (default: 504 timed out). */
  waitTimeout?: () => { status: number; message: string; reason: Reason };
  /**
   * A queued request's wait gets a child span of its own, named so (the activator's cold-start
   * wait); `readyPods` says how many pods could take requests, so the span counts those started
   * during the wait.
   */
  waitSpan?: { name: string; readyPods: () => number };
}

/**
 * Why a hop answered as it did, on its span (`sluice.reason`) and access-log line. A hop that
 * passes on an answer from upstream says `upstream_status`.
 */
export type Reason =
  | "queue_full"
  | "revision_timeout"
  | "revision_not_ready"
  | "revision_failed"
  | "revision_gone"
  | "shutting_down"
  | "request_body_timeout"
  | "response_start_timeout"
  | "idle_timeout"
  | "upstream_refused"
  | "upstream_error"
  | "upstream_status"
  | "client_gone";

export type DispatchController = Parameters<NonNullable<Dispatcher.DispatchHandler["onRequestStart"]>>[0];

// Errors of the connect step: raised before a single byte of the request could leave this process.
const NOT_CONNECTED = new Set([
  "ECONNREFUSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);

/** Whether `error` came from the connect step: the upstream saw nothing of the request. */
export function neverConnected(error: Error): boolean {
  return NOT_CONNECTED.has((error as { code?: string }).code ?? "");
}

/** A connection that ended before any answer: a pod killed, or a keep-alive closed as it was reused. */
const LOST_BEFORE_ANSWER = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);
/** RFC 9110 §9.2.2: a client may send these again after a connection failure. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * Whether a request that failed this way may be sent again: it never reached the upstream
 * (connect failed), or it is idempotent and bodiless and its connection was lost before any
 * answer. Callers check that no response has started.
 */
export function worthRetrying(error: Error, method: string | undefined, hasBody: boolean): boolean {
  if (neverConnected(error)) return true;
  return (
    !hasBody &&
    IDEMPOTENT.has(method ?? "") &&
    LOST_BEFORE_ANSWER.has((error as { code?: string }).code ?? "")
  );
}
type Headers = Record<string, string | string[] | undefined>;

export const WAITING = 0; // queued at the gate
export const DISPATCHED = 1; // sent to the app, no response yet
const RESPONDING = 2; // response headers sent to the client
const DONE = 3;
const AWAITING_BODY = 4; // has a body none of which has come yet: not at the gate

const kExchange = Symbol("exchange");
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange };
type TaggedRequest = IncomingMessage & { [kExchange]?: Exchange };

export class ClientGoneError extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientGoneError";
  }
}

class TotalTimeoutError extends Error {
  readonly code = "SLUICE_TOTAL_TIMEOUT";
}

// Shared listeners that find their exchange through the response: no closure per request.
function onResponseClose(this: TaggedResponse): void {
  this[kExchange]?.clientClosed();
}
function onResponseDrain(this: TaggedResponse): void {
  this[kExchange]?.controller?.resume();
}
function onRequestReadable(this: TaggedRequest): void {
  this[kExchange]?.bodyArrived();
}

/**
 * One proxied request, from arrival to the end of its response. It is at once the gate's
 * waiter, the deadline list's entry and undici's dispatch handler.
 */
export class Exchange implements GateWaiter, DeadlineEntry, Dispatcher.DispatchHandler {
  readonly ctx: ExchangeContext;
  readonly req: IncomingMessage;
  readonly res: TaggedResponse;
  readonly headers: string[];
  readonly hasBody: boolean;
  readonly proxied: boolean;
  readonly startedAt: number;
  prevDeadline: DeadlineEntry | null = null;
  nextDeadline: DeadlineEntry | null = null;
  controller: DispatchController | null = null;
  origin: string | undefined = undefined;
  socketPath: string | undefined = undefined;
  state = WAITING;
  admitted = false;
  status = 0;
  /** This hop's trace span, when tracing is on and the request sampled. */
  span: RequestSpan | undefined = undefined;
  /** Why this hop answered itself (see Reason); set on the rare paths only. */
  reason: Reason | undefined = undefined;
  reasonMessage: string | undefined = undefined;
  /** The wait at the gate as a span (ctx.waitSpan), while queued. */
  waitSpan: ChildSpan | undefined = undefined;
  waitSince = 0;
  readyBeforeWait = 0;
  /** Response body bytes still to come when the app sent content-length, else -1. */
  remaining = -1;

  constructor(
    ctx: ExchangeContext,
    req: IncomingMessage,
    res: ServerResponse,
    headers: string[],
    hasBody: boolean,
    proxied: boolean,
  ) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.headers = headers;
    this.hasBody = hasBody;
    this.proxied = proxied;
    this.startedAt = Date.now();
  }

  start(): void {
    const { ctx, res } = this;
    // Once per request here, not in admit(): a retried request is admitted again.
    if (ctx.extraHeaders) this.headers.push(...ctx.extraHeaders);
    ctx.stats.arrive(this.startedAt, this.proxied);
    if (ctx.tracer?.enabled)
      this.span = startRequestSpan(ctx.tracer, this.req, this.headers, ctx.revision ?? "");
    ctx.deadlines.add(this);
    res[kExchange] = this;
    res.once("close", onResponseClose);
    const req = this.req as TaggedRequest;
    if (this.hasBody && !ctx.upstreamH2 && req.readableLength === 0 && !req.readableEnded) {
      // undici writes an HTTP/1.1 request's head only together with its first body byte: sent
      // now, a body that comes late would leave the next hop a silent connection, which its
      // header (or keep-alive) timeout closes. So the request waits here, holding no slot, until
      // its body starts (or ends); the revision's deadline bounds the wait. 'readable' reads
      // nothing: the body stays whole for undici (and for a retry, which needs it unread).
      this.state = AWAITING_BODY;
      req[kExchange] = this;
      req.once("readable", onRequestReadable);
      return;
    }
    this.enterGate();
  }

  /** The first of the body (or its end) has come: on to the gate. */
  bodyArrived(): void {
    if (this.state !== AWAITING_BODY) return;
    this.state = WAITING;
    this.enterGate();
  }

  /** To the gate: admitted at once, queued (its wait a span when ctx.waitSpan says so), or refused. */
  enterGate(): void {
    const { ctx } = this;
    const entered = ctx.gate.enter(this);
    if (entered === "admitted") this.admit();
    else if (entered === "rejected") {
      ctx.metrics.rejected.inc();
      this.fail(503, `${ctx.component}: pending request queue full`, { "retry-after": "1" }, "queue_full");
    } else if (this.span !== undefined && ctx.waitSpan !== undefined && this.waitSpan === undefined) {
      this.#startWaitSpan(ctx.waitSpan);
    }
  }

  /** Rare path: a sampled request queued where waits are traced (the activator). */
  #startWaitSpan(wait: { name: string; readyPods: () => number }): void {
    this.waitSince = Date.now();
    this.readyBeforeWait = wait.readyPods();
    this.waitSpan = this.span?.child(wait.name, { "sluice.revision": this.ctx.revision ?? "" });
  }

  #endWaitSpan(error?: string): void {
    const span = this.waitSpan;
    if (span === undefined) return;
    this.waitSpan = undefined;
    const started = Math.max(0, (this.ctx.waitSpan?.readyPods() ?? 0) - this.readyBeforeWait);
    span.end(
      {
        "sluice.wait.seconds": (Date.now() - this.waitSince) / 1000,
        "sluice.pods.ready_at_start": this.readyBeforeWait,
        "sluice.pods.started": started,
      },
      error,
    );
  }

  admit(): void {
    if (this.waitSpan !== undefined) this.#endWaitSpan();
    this.admitted = true;
    this.state = DISPATCHED;
    const { req, ctx } = this;
    const options: Dispatcher.DispatchOptions & Pick<UpstreamDispatch, "socketPath"> = {
      origin: this.origin,
      socketPath: this.socketPath,
      path: req.url ?? "/",
      method: req.method as Dispatcher.HttpMethod,
      headers: this.headers,
      body: this.hasBody ? req : null,
    };
    ctx.upstream.dispatch(options, this);
  }

  // undici handler ---------------------------------------------------------------------------

  onRequestStart(controller: DispatchController): void {
    this.controller = controller;
    if (this.state === DONE) controller.abort(new ClientGoneError());
  }

  onResponseStart(
    _controller: DispatchController,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    if (this.state === DONE) return;
    this.status = statusCode;
    try {
      if (sendGrpcTrailersOnly(this.res, this.req.httpVersionMajor, statusCode, headers)) {
        this.finish();
        return;
      }
    } catch (error) {
      this.#headRefused(error as Error);
      return;
    }
    const length = headers["content-length"];
    this.#writeHead(
      statusCode,
      statusMessage,
      endToEndHeaderObject(headers),
      typeof length === "string" ? length : undefined,
    );
  }

  /** The raw pool's response head, a flat list: filtered straight into the client's, no object made. */
  onRawResponseStart(
    controller: DispatchController,
    statusCode: number,
    rawHeaders: readonly string[],
    statusMessage: string,
  ): void {
    if (this.req.httpVersionMajor !== 1) {
      // An HTTP/2 client's answer may be gRPC's trailers-only one, which reads the object.
      const headers: Record<string, string | string[]> = {};
      addHeaders(headers, rawHeaders);
      this.onResponseStart(controller, statusCode, headers, statusMessage);
      return;
    }
    if (this.state === DONE) return;
    this.status = statusCode;
    const out: string[] = [];
    this.#writeHead(statusCode, statusMessage, out, endToEndResponseHeaders(rawHeaders, out));
  }

  /** `out`: the end-to-end headers from upstream; `length`: their Content-Length. */
  #writeHead(
    status: number,
    statusMessage: string | undefined,
    out: string[],
    length: string | undefined,
  ): void {
    this.state = RESPONDING;
    // HTTP/2 has no Connection header; there GOAWAY on shutdown does the same job.
    if (this.ctx.draining && this.req.httpVersionMajor === 1) out.push("connection", "close");
    if (this.ctx.responseHeaders) out.push(...this.ctx.responseHeaders);
    if (length !== undefined && this.req.method !== "HEAD") this.remaining = Number(length);
    try {
      // A reason phrase is HTTP/1's alone (node warns when one is handed to an HTTP/2 answer).
      if (this.req.httpVersionMajor !== 1) this.res.writeHead(status, firstOfSingleValue(out));
      else if (statusMessage) this.res.writeHead(status, statusMessage, out);
      else this.res.writeHead(status, out);
    } catch (error) {
      this.#headRefused(error as Error);
    }
  }

  /**
   * node would not write the app's head to this client (a status HTTP/2 cannot carry, a value it
   * refuses): a 502 in its place, and the app's response is dropped.
   */
  #headRefused(error: Error): void {
    const { res } = this;
    // What writeHead had set before it threw would go out with the 502: node:http's HTTP/1
    // response keeps the reason phrase it refused (a control character in it), and would refuse
    // it again.
    if (!res.headersSent && typeof res.getHeaderNames === "function") {
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      if (this.req.httpVersionMajor === 1) res.statusMessage = "";
    }
    this.remaining = -1;
    this.ctx.log.debug({ err: error, url: this.req.url, ...this.traceFields() }, "response head refused");
    this.fail(
      502,
      `${this.ctx.component}: the app's response cannot be sent to this client: ${error.message}`,
      undefined,
      "upstream_error",
    );
    this.controller?.abort(error);
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    if (this.state === DONE) return;
    this.remaining -= chunk.length;
    if (this.remaining === 0) {
      // The body's last bytes: headers and body leave in one write, with no cork/uncork tick.
      this.res.end(chunk);
      return;
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once("drain", onResponseDrain);
    }
  }

  onResponseEnd(_controller: DispatchController, trailers: Headers): void {
    if (this.state === DONE) return;
    // Trailers (gRPC's grpc-status) only travel on chunked HTTP/1.1 or HTTP/2 responses.
    for (const _name in trailers) {
      this.res.addTrailers(trailers as Record<string, string | string[]>);
      break;
    }
    if (!this.res.writableEnded) this.res.end();
    this.finish();
  }

  onResponseError(_controller: DispatchController, error: Error): void {
    if (this.state === DONE) return;
    const code = (error as { code?: string }).code;
    if (code === "UND_ERR_HEADERS_TIMEOUT") {
      this.ctx.metrics.timeouts.inc();
      this.fail(
        504,
        `${this.ctx.component}: the app did not start its response in time`,
        undefined,
        "response_start_timeout",
      );
    } else if (code === "UND_ERR_BODY_TIMEOUT") {
      this.ctx.metrics.timeouts.inc();
      this.fail(
        504,
        `${this.ctx.component}: the app's response went idle for too long`,
        undefined,
        "idle_timeout",
      );
    } else {
      this.ctx.log.debug({ err: error, url: this.req.url, ...this.traceFields() }, "upstream error");
      this.fail(
        502,
        `${this.ctx.component}: error talking to the app: ${code ?? error.message}`,
        undefined,
        neverConnected(error) ? "upstream_refused" : "upstream_error",
      );
    }
  }

  // lifecycle -----------------------------------------------------------------------------------

  /** The deadline list found this request past the revision timeout. */
  expire(): void {
    if (this.state === DONE) return;
    this.ctx.metrics.timeouts.inc();
    if (this.state === AWAITING_BODY) {
      this.#stopAwaitingBody();
      // The body may yet come, and nobody will read it: the connection cannot carry another request.
      if (this.req.httpVersionMajor === 1) this.res.shouldKeepAlive = false;
      this.fail(
        408,
        `${this.ctx.component}: the request body did not arrive within ${this.ctx.timeoutMs / 1000}s`,
        undefined,
        "request_body_timeout",
      );
      return;
    }
    if (this.state === WAITING && this.ctx.waitTimeout) {
      const { status, message, reason } = this.ctx.waitTimeout();
      this.fail(status, message, { "retry-after": "1" }, reason);
      return;
    }
    // Finish first: abort() calls onResponseError synchronously, which must find us done.
    this.fail(
      504,
      `${this.ctx.component}: request timed out after ${this.ctx.timeoutMs / 1000}s`,
      undefined,
      "revision_timeout",
    );
    this.controller?.abort(new TotalTimeoutError("revision timeout"));
  }

  /** The client connection closed; unless the response was complete, everything is cancelled. */
  clientClosed(): void {
    // remaining 0: the whole body went out with res.end(chunk); undici's end event is on its way.
    if (this.state === DONE || this.remaining === 0) return;
    if (this.state === WAITING) this.ctx.gate.leave(this);
    else if (this.state === AWAITING_BODY) this.#stopAwaitingBody();
    this.status = 499; // nginx's "client closed request", for metrics only
    this.reason = "client_gone";
    this.finish();
    this.controller?.abort(new ClientGoneError());
  }

  /** Rare path: a request given up on before its body came. */
  #stopAwaitingBody(): void {
    // node drains an unread body after the answer, which a 'readable' listener would stall.
    this.req.removeListener("readable", onRequestReadable);
  }

  fail(status: number, message: string, headers?: Record<string, string>, reason?: Reason): void {
    if (this.state === DONE) return;
    if (this.state === WAITING) this.ctx.gate.leave(this);
    this.status = this.res.headersSent ? this.status : status;
    this.reason = reason;
    this.reasonMessage = message;
    try {
      sendPlain(
        this.res,
        status,
        message,
        this.ctx.responseHeaders ? withPairs(headers, this.ctx.responseHeaders) : headers,
      );
    } catch {
      // The answer cannot be written (node refused its head): a reset tells the client, and the
      // exchange still ends (its gate slot, its deadline), never leaving an error to a timer.
      this.res.destroy();
    }
    this.finish();
  }

  finish(): void {
    if (this.state === DONE) return;
    this.state = DONE;
    const { ctx } = this;
    const now = Date.now();
    ctx.deadlines.remove(this);
    ctx.stats.depart(now, this.proxied);
    if (this.admitted) ctx.gate.release(this);
    const status = this.status || this.res.statusCode;
    ctx.metrics.observe(status, (now - this.startedAt) / 1000);
    if (status >= 500 && this.reason === undefined) {
      this.reason = "upstream_status";
      this.reasonMessage = `${ctx.component}: upstream answered ${status}`;
    }
    // A wait cut short by the client is not the wait's failure.
    if (this.waitSpan !== undefined) this.#endWaitSpan(status >= 500 ? this.reasonMessage : undefined);
    this.span?.end(status, this.reason, this.reasonMessage);
    if (ctx.accessLog) {
      ctx.log.info(
        {
          method: this.req.method,
          url: this.req.url,
          status,
          ms: now - this.startedAt,
          revision: ctx.revision,
          reason: this.reason,
          ...this.traceFields(),
        },
        "request",
      );
    }
  }

  /**
   * trace_id and span_id for this request's log lines: this hop's span when it has one (sampled,
   * or a new trace's "not sampled" decision), else the caller's traceparent (the span this request
   * belongs to), else nothing. Only log lines pay for it.
   */
  traceFields(): { trace_id?: string; span_id?: string } {
    const traceparent = this.span?.traceparent;
    if (traceparent !== undefined)
      return { trace_id: traceparent.slice(3, 35), span_id: traceparent.slice(36, 52) };
    const parent = parseTraceparent(requestHeader(this.req, "traceparent"));
    return parent === undefined ? {} : { trace_id: parent.traceId, span_id: parent.spanId };
  }
}

/** Rare path (a hop's own error reply): adds the context's response headers to an object. */
function withPairs(
  headers: Record<string, string> | undefined,
  pairs: readonly string[],
): Record<string, string> {
  const out = { ...headers };
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i]] = pairs[i + 1];
  return out;
}
