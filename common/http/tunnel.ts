import type { ClientRequest, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { DeadlineEntry } from "./deadline-list.ts";
import { endToEndRawHeaders } from "./hop-by-hop.ts";
import type { ExchangeContext, GateWaiter } from "./proxy-exchange.ts";
import { rawResponse } from "./respond.ts";

export interface TunnelOptions {
  /** The hop's exchange context: its gate, deadline sweep (revision timeout), metrics and stats. */
  ctx: ExchangeContext;
  /**
   * The upgrade request's end-to-end headers for upstream (hop-by-hop and internal ones already
   * removed), built once admitted; Connection and Upgrade are added, then ctx.extraHeaders.
   */
  requestHeaders: () => string[];
  /** Where to connect when the gate names no origin (the queue-proxy's app). */
  origin?: string;
  /** The largest response head accepted from upstream; beyond it the client gets 502. */
  maxResponseHeadBytes: number;
  /** Counted apart in the stats (came through the activator). */
  proxied?: boolean;
  /** The open tunnels (a component closes them on shutdown); each adds and removes itself. */
  open: Set<Tunnel>;
}

/** Client bytes held while the upstream has not answered yet; beyond, the client is paused. */
const MAX_PENDING_BYTES = 64 * 1024;

const WAITING = 0; // at the gate
const ASKING = 1; // upgrade request sent upstream, no answer yet
const TUNNEL = 2; // upstream said 101: bytes flow both ways
const RESPONDING = 3; // upstream answered otherwise: relayed as an ordinary response
const CLOSED = 4;

/**
 * One WebSocket upgrade, the data plane's only tunnel. It waits at the gate and under the
 * revision timeout like any request, asks upstream with node:http (so the answer's head is parsed
 * and bounded), and becomes a byte tunnel only when upstream answers 101; any other answer is
 * relayed as an ordinary response and closes the connection. The tunnel holds its gate slot for
 * its whole life, as a long request would; both directions respect backpressure.
 */
export class Tunnel implements GateWaiter, DeadlineEntry {
  origin: string | undefined = undefined;
  readonly startedAt = Date.now();
  prevDeadline: DeadlineEntry | null = null;
  nextDeadline: DeadlineEntry | null = null;
  protected readonly options: TunnelOptions;
  protected readonly req: IncomingMessage;
  protected readonly client: Duplex;
  #ask: ClientRequest | null = null;
  #upstream: Socket | null = null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #state = WAITING;
  #admitted = false;
  #status = 0;

  constructor(options: TunnelOptions, req: IncomingMessage, client: Duplex, head: Buffer) {
    this.options = options;
    this.req = req;
    this.client = client;
    this.origin = options.origin;
    // Bytes that came after the request head: sent on once (if ever) the upgrade is accepted.
    if (head.length > 0) {
      this.#pending.push(head);
      this.#pendingBytes = head.length;
    }
  }

  /** Whether upstream accepted the upgrade and bytes now flow both ways. */
  get tunnelling(): boolean {
    return this.#state === TUNNEL;
  }

  start(): void {
    const { ctx, open } = this.options;
    open.add(this);
    ctx.stats.arrive(this.startedAt, this.options.proxied ?? false);
    ctx.deadlines.add(this);
    const { client } = this;
    client.on("data", (chunk: Buffer) => this.#fromClient(chunk));
    client.on("end", () => this.#clientEnded());
    client.on("error", () => this.close());
    client.on("close", () => this.close());
    const entered = ctx.gate.enter(this);
    if (entered === "admitted") this.admit();
    else if (entered === "rejected") {
      ctx.metrics.rejected.inc();
      this.fail(503, `${ctx.component}: pending request queue full`, { "retry-after": "1" });
    }
  }

  admit(): void {
    if (this.#state !== WAITING) {
      this.options.ctx.gate.release(this); // admitted after the client left
      return;
    }
    this.#admitted = true;
    this.#state = ASKING;
    const { ctx } = this.options;
    const url = new URL(this.origin ?? "http://127.0.0.1");
    const headers = [...this.options.requestHeaders()];
    headers.push("connection", "upgrade", "upgrade", "websocket");
    if (ctx.extraHeaders) headers.push(...ctx.extraHeaders);
    // node:http is loaded on first use: a raw-path queue-proxy without WebSockets never needs it.
    const ask = process.getBuiltinModule("node:http").request({
      host: url.hostname,
      port: Number(url.port || 80),
      method: this.req.method,
      path: this.req.url,
      headers,
      setHost: false,
      agent: false,
      maxHeaderSize: this.options.maxResponseHeadBytes,
    });
    this.#ask = ask;
    ask.on("socket", (socket: Socket) => socket.setNoDelay(true));
    ask.on("upgrade", (res: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#upgraded(res, socket, head),
    );
    ask.on("response", (res: IncomingMessage) => this.#respond(res));
    ask.on("error", (error: NodeJS.ErrnoException) => this.#askFailed(error));
    ask.end();
  }

  // upstream said 101 ------------------------------------------------------------------------

  #upgraded(res: IncomingMessage, upstream: Socket, head: Buffer): void {
    if (this.#state !== ASKING) return void upstream.destroy();
    this.#state = TUNNEL;
    this.#upstream = upstream;
    this.#answered(101);
    const { ctx } = this.options;
    let out = `HTTP/1.1 101 ${res.statusMessage || "Switching Protocols"}\r\n`;
    const raw = res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
    const extra = ctx.responseHeaders ?? [];
    for (let i = 0; i < extra.length; i += 2) out += `${extra[i]}: ${extra[i + 1]}\r\n`;
    this.client.write(`${out}\r\n`);
    upstream.on("data", (chunk: Buffer) => this.fromUpstream(chunk));
    upstream.on("end", () => this.client.end());
    upstream.on("error", () => this.close());
    upstream.on("close", () => this.close());
    this.upgraded();
    if (head.length > 0) this.fromUpstream(head);
    // What the client sent before the answer (normally nothing: it must wait for the 101).
    for (const chunk of this.#pending) this.#toUpstream(chunk);
    this.#pending = [];
    this.client.resume();
  }

  /** Called once the tunnel is up, before any upstream byte is relayed (for subclasses). */
  protected upgraded(): void {}

  /** Relays upstream bytes to the client; a subclass may look at them first. */
  protected fromUpstream(chunk: Buffer): void {
    this.toClient(chunk);
  }

  /** Writes to the client, pausing upstream while the client's buffer is full. */
  protected toClient(chunk: Buffer | string): void {
    if (this.client.write(chunk)) return;
    const upstream = this.#upstream;
    if (upstream === null || upstream.isPaused()) return;
    upstream.pause();
    this.client.once("drain", () => upstream.resume());
  }

  #toUpstream(chunk: Buffer): void {
    const upstream = this.#upstream;
    if (upstream === null || upstream.write(chunk)) return;
    if (this.client.isPaused()) return;
    this.client.pause();
    upstream.once("drain", () => this.client.resume());
  }

  #fromClient(chunk: Buffer): void {
    if (this.#state === TUNNEL) return void this.#toUpstream(chunk);
    if (this.#state !== WAITING && this.#state !== ASKING) return; // an ordinary answer: ignored
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= MAX_PENDING_BYTES) this.client.pause();
  }

  #clientEnded(): void {
    if (this.#state === TUNNEL) this.#upstream?.end();
    else if (this.#state !== RESPONDING) this.close(); // gone before any answer: cancel
  }

  // upstream answered otherwise ---------------------------------------------------------------

  #respond(res: IncomingMessage): void {
    if (this.#state !== ASKING) return void res.destroy();
    this.#state = RESPONDING;
    this.#status = res.statusCode ?? 502;
    const { ctx } = this.options;
    let out = `HTTP/1.1 ${this.#status} ${res.statusMessage ?? ""}\r\n`;
    const headers = endToEndRawHeaders(res.rawHeaders);
    if (ctx.responseHeaders) headers.push(...ctx.responseHeaders);
    for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
    // The body goes as it comes: with its content-length, or delimited by closing the connection.
    this.client.write(`${out}connection: close\r\n\r\n`);
    res.on("data", (chunk: Buffer) => {
      if (this.client.write(chunk) || res.isPaused()) return;
      res.pause();
      this.client.once("drain", () => res.resume());
    });
    res.on("end", () => {
      this.#answered(this.#status);
      this.client.end();
      this.close();
    });
    res.on("error", () => this.close());
  }

  #askFailed(error: NodeJS.ErrnoException): void {
    if (this.#state === RESPONDING) return void this.close(); // cut mid-body: the client sees it cut too
    if (this.#state !== ASKING) return;
    const { component, log } = this.options.ctx;
    log.debug({ err: error, url: this.req.url }, "upgrade upstream error");
    const message =
      error.code === "HPE_HEADER_OVERFLOW"
        ? `${component}: the answer to the upgrade has a head over ${this.options.maxResponseHeadBytes} bytes`
        : `${component}: error talking to the app: ${error.code ?? error.message}`;
    this.#reply(502, message);
  }

  // lifecycle -----------------------------------------------------------------------------------

  /** The deadline sweep found this upgrade unanswered past the revision timeout. */
  expire(): void {
    const { ctx } = this.options;
    if (this.#state === RESPONDING) {
      ctx.metrics.timeouts.inc();
      this.#answered(this.#status);
      return void this.close();
    }
    if (this.#state !== WAITING && this.#state !== ASKING) return;
    ctx.metrics.timeouts.inc();
    if (this.#state === WAITING && ctx.waitTimeout) {
      const { status, message } = ctx.waitTimeout();
      return void this.#reply(status, message, { "retry-after": "1" });
    }
    this.#reply(504, `${ctx.component}: the upgrade was not answered within ${ctx.timeoutMs / 1000}s`);
  }

  /** Turns the upgrade away with an HTTP error (only before anything was answered). */
  fail(status: number, message: string, headers?: Record<string, string>): void {
    if (this.#state !== WAITING && this.#state !== ASKING) return;
    this.#reply(status, message, headers);
  }

  #reply(status: number, message: string, headers?: Record<string, string>): void {
    this.#answered(status);
    if (this.client.writable) this.client.end(rawResponse(status, message, headers));
    this.close();
  }

  /** The upgrade got its answer: no more deadline, one observation in the metrics. */
  #answered(status: number): void {
    if (this.#status === -1) return;
    this.options.ctx.deadlines.remove(this);
    this.options.ctx.metrics.observe(status, (Date.now() - this.startedAt) / 1000);
    this.#status = -1;
  }

  close(): void {
    if (this.#state === CLOSED) return;
    const wasWaiting = this.#state === WAITING;
    this.#state = CLOSED;
    const { ctx } = this.options;
    if (this.#status !== -1) this.#answered(499); // client gone before any answer
    if (wasWaiting) ctx.gate.leave(this);
    else if (this.#admitted) ctx.gate.release(this);
    ctx.stats.depart(Date.now(), this.options.proxied ?? false);
    this.#ask?.destroy();
    this.#upstream?.destroy();
    // An answer just written with end() leaves once flushed; anything else is cut now.
    const { client } = this;
    if (client.writableEnded && !client.writableFinished) client.once("finish", () => client.destroy());
    else client.destroy();
    this.options.open.delete(this);
  }
}
