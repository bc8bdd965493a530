import type { Socket } from "node:net";
import { describeClientError } from "../client-error.ts";
import { sameHeaderName } from "../header-name.ts";
import { rawResponse } from "../respond.ts";
import type { NodeParser, NodeParserBinding, ParseError, ParserCallbacks } from "./node-parser.ts";
import { BODY_BUFFER_LIMIT, RawRequest } from "./raw-request.ts";
import { RawResponse } from "./raw-response.ts";
import { SocketWriter } from "./socket-writer.ts";
import { UNSTAMPED, UNTIMED } from "./sweep-stamp.ts";
import { upgradeHead } from "./upgrade-handover.ts";

export interface ClientConnectionOptions {
  component: string;
  binding: NodeParserBinding;
  maxHeaderBytes: number;
  keepAliveTimeoutMs: number;
  /** A framed request; its response is written through `res`. */
  onRequest(req: RawRequest, res: RawResponse): void;
  /** Gives the connection to node:http (upgrades, CONNECT): the bytes from the request on. */
  handOver(socket: Socket, bytes: Buffer): void;
  /** Called once when the connection is closed. */
  onClose(connection: ClientConnection): void;
}

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";
/** node:http's test of an Expect header (_http_server.js): 100-continue anywhere in its list. */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * Pipelined requests read ahead of the one being answered. The client is read on meanwhile, so a
 * client that leaves is heard (its answer is cancelled) as node:http hears it; once this many wait
 * the connection is not read on (the read that brought them is parsed whole), so a client cannot
 * queue requests without end.
 */
export const MAX_PIPELINED = 8;

interface HandleLike {
  reading?: boolean;
  readStart(): number;
  readStop(): number;
  _consumed?: boolean;
}

/**
 * One client connection on the raw path: llhttp reads the socket in C++ and frames requests; each
 * is answered in turn (a pipelined request waits until the one before it is answered and its body
 * read; up to MAX_PIPELINED of them are read ahead, their bodies up to BODY_BUFFER_LIMIT in all),
 * so responses leave in request order. A request to upgrade (WebSocket) or CONNECT hands the
 * connection to node:http once the requests before it are answered.
 */
export class ClientConnection implements ParserCallbacks {
  readonly socket: Socket;
  readonly #options: ClientConnectionOptions;
  readonly #parser: NodeParser;
  readonly #handle: HandleLike;
  readonly #writer: SocketWriter;
  #headers: string[] = [];
  #url = "";
  /** The request whose body the parser is reading. */
  #parsing: RawRequest | null = null;
  /** The request being answered, and its response. */
  #active: RawResponse | null = null;
  #queue: RawRequest[] = [];
  #upgrade: { req: RawRequest; method: string } | null = null;
  #paused = false;
  #closed = false;
  /** A message ended in the read being parsed (its remaining bytes are not a new head). */
  #endedInRead = false;
  /** A request closed the connection: whatever follows it is not read. */
  #lastRequest = false;
  /** An upgrade request with a body, answered here: nothing after it is read. */
  #closeAfter: RawRequest | null = null;
  /** The bytes after the head of an upgrade read behind requests still to answer (#upgrade). */
  #upgradeRest: Buffer | null = null;
  /** #next's loop is running: a response ended inside it lets the loop start the next request. */
  #advancing = false;
  /** The bytes being parsed by execute() (the sniffer's first read): node keeps none after it returns. */
  #executing: Buffer | null = null;
  /**
   * When the connection last had nothing to do (for the idle and header timeouts); UNTIMED: busy;
   * UNSTAMPED: idle since the sweep last looked (it stamps the time: no clock read per request).
   */
  idleSince: number;
  /** Bytes of a next request arrived while idle: the header timeout applies, not keep-alive's. */
  headStarted = true;
  readonly keepAliveSeconds: number;
  /** Handed to node:http: no longer this path's. */
  detached = false;

  constructor(socket: Socket, handle: object, first: Buffer, options: ClientConnectionOptions) {
    this.socket = socket;
    this.#options = options;
    this.#handle = handle as HandleLike;
    this.keepAliveSeconds = Math.floor(options.keepAliveTimeoutMs / 1000);
    this.idleSince = Date.now();
    this.#parser = options.binding.create("request", this, options.maxHeaderBytes);
    socket.on("close", () => this.#onSocketClose());
    socket.on("error", () => socket.destroy());
    this.#writer = new SocketWriter(socket, options.binding.streamWrap, () => this.#drained());
    if (first.length > 0) {
      this.#executing = first;
      this.onExecute(this.#parser.execute(first));
      this.#executing = null;
    }
    if (this.#closed || this.#upgrade !== null) return;
    this.#handle._consumed = true;
    this.#parser.consume(handle);
    if (!this.#paused) this.#readStart();
  }

  // parser callbacks ----------------------------------------------------------------------------

  onHeaders(headers: string[], url: string): void {
    // Early flushes of a long head, or trailers (dropped, as node:http's path drops them).
    if (this.#parsing !== null) return;
    for (const item of headers) this.#headers.push(item);
    this.#url += url;
  }

  onHeadersComplete(
    major: number,
    minor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    _status: number,
    _message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    const rawHeaders = headers ?? this.#headers;
    const target = url ?? this.#url;
    this.#headers = [];
    this.#url = "";
    const name = this.#options.binding.methods[method ?? 0] ?? "GET";
    // An upgrade request with a body: llhttp reads the body, then stops (a paused upgrade) and
    // node's binding drops the rest of that read. Its head cannot go to node:http without the body
    // llhttp has taken, so it is answered here, as node:http answers an upgrade it does not take
    // (every one but WebSocket's), and the connection closes after it: what followed is lost.
    const withBody = upgrade && name !== "CONNECT" && declaresBody(rawHeaders);
    const req = new RawRequest(
      this,
      this.socket,
      name,
      target,
      major,
      minor,
      rawHeaders,
      keepAlive && !withBody,
    );
    if (upgrade && !withBody) {
      // llhttp stops after this head; onExecute hands over what follows.
      this.#upgrade = { req, method: name };
      return 0;
    }
    if (withBody) this.#closeAfter = req;
    this.#parsing = req;
    this.idleSince = UNTIMED;
    // Started when this read is parsed (onExecute), not now: a framing error llhttp finds just
    // after the head (an unknown Transfer-Encoding) must refuse the request before it goes anywhere.
    this.#queue.push(req);
    if (this.#queue.length >= MAX_PIPELINED) this.pauseReading();
    return 0;
  }

  onBody(chunk: Buffer): void {
    const req = this.#parsing;
    if (req === null) return;
    req.push(chunk);
    // A queued request's body: what all of them hold is bounded, not only each one's.
    if (req !== this.#active?.req && this.#queuedBodiesFull()) this.pauseReading();
    // The body of a request already answered, still coming: the client is alive (its idle clock
    // starts again, as node's socket timeout does on any read).
    if (this.idleSince !== UNTIMED) this.idleSince = UNSTAMPED;
  }

  onMessageComplete(): void {
    const req = this.#parsing;
    if (req === null) return;
    this.#parsing = null;
    this.#endedInRead = true;
    if (req === this.#closeAfter) {
      // llhttp parses nothing after it; its answer goes out, then the connection closes.
      this.#lastRequest = true;
      this.pauseReading();
    }
    req.end();
    if (this.#active !== null && this.#active.req === req && this.#active.writableEnded) this.#next();
  }

  onExecute(result: number | ParseError): void {
    const ended = this.#endedInRead;
    this.#endedInRead = false;
    if (typeof result !== "number") this.#parseError(result);
    else if (this.#upgrade !== null) this.#handOverUpgrade(result);
    else if (this.#active === null && this.#queue.length > 0) this.#next();
    else if (!ended && this.#active === null && this.#parsing === null && this.idleSince !== UNTIMED) {
      // Bytes of a next head while idle: the header timeout applies, counted from now.
      if (!this.headStarted) this.idleSince = UNSTAMPED;
      this.headStarted = true;
    }
  }

  // for requests and responses ------------------------------------------------------------------

  write(data: Buffer | string): boolean {
    if (this.#closed) return false;
    return this.#writer.write(data);
  }

  responseDone(response: RawResponse, keepAlive: boolean): void {
    if (this.#active !== response) return;
    const { req } = response;
    if (!keepAlive) {
      // Nothing more is read or started: a pipelined request behind this one goes nowhere.
      this.pauseReading();
      this.#closed = true;
      this.socket.end();
      this.socket.destroySoon?.();
      return;
    }
    // Answered before its body was all read (e.g. 404 on an upload): read the rest and drop it,
    // under the keep-alive timeout from now on (node:http's socket timeout): a client that stops
    // sending the rest is cut instead of holding the connection for ever.
    if (!req.complete) {
      req.discard();
      this.headStarted = false;
      // Timed once the answer is written out (#drained), not while a slow reader takes it.
      this.idleSince = this.#writer.waiting ? UNTIMED : UNSTAMPED;
    } else this.#next();
  }

  pauseReading(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#handle.reading) {
      this.#handle.reading = false;
      this.#handle.readStop();
    }
  }

  resumeReading(): void {
    if (!this.#paused || this.#closed || this.#lastRequest || this.#queue.length >= MAX_PIPELINED) return;
    if (this.#queuedBodiesFull()) return;
    this.#paused = false;
    this.#readStart();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The idle or header timeout passed (the listener's sweep decides). */
  timedOut(): void {
    if (this.#active === null && this.headStarted && this.idleSince !== UNTIMED && this.#parsing === null) {
      const { status, reason } = describeClientError("ERR_HTTP_HEADERS_TIMEOUT");
      this.#closed = true;
      this.socket.end(rawResponse(status, `${this.#options.component}: ${reason}`));
      this.socket.destroySoon?.();
      return;
    }
    this.socket.destroy();
  }

  /** Nothing in progress, the last response written out (a slow reader's download is not idle). */
  get idle(): boolean {
    return (
      this.#active === null && this.#parsing === null && this.#queue.length === 0 && !this.#writer.waiting
    );
  }

  // internals -----------------------------------------------------------------------------------

  #readStart(): void {
    if (this.#handle.reading || this.socket.destroyed) return;
    this.#handle.reading = true;
    this.#handle.readStart();
  }

  #start(req: RawRequest): void {
    const res = new RawResponse(this, req);
    this.#active = res;
    this.idleSince = UNTIMED;
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && !hasHost(req.rawHeaders)) {
      // node:http's answer (RFC 9112 §3.2: an HTTP/1.1 request without Host is refused).
      res.shouldKeepAlive = false;
      res.writeHead(400, []);
      res.end();
      return;
    }
    const expect = expectation(req.rawHeaders);
    if (expect !== undefined && req.httpVersionMinor === 1) {
      if (!CONTINUE_EXPECTATION.test(expect)) {
        // node:http's answer to an expectation it cannot meet.
        res.writeHead(417, []);
        res.end();
        return;
      }
      this.write(CONTINUE);
    }
    this.#options.onRequest(req, res);
  }

  #next(): void {
    if (this.#closed) return; // closing after the last response: nothing more starts
    this.#active = null;
    // A loop, not a call per request: requests answered at once inside #start (a 404 each, for
    // thousands pipelined in one read) would otherwise nest as deep as the queue is long.
    if (this.#advancing) return;
    this.#advancing = true;
    try {
      while (this.#active === null && !this.#closed) {
        // pop() when it is the only one, as it nearly always is: shift() leaves optimized code for the runtime.
        const next = this.#queue.length === 1 ? this.#queue.pop() : this.#queue.shift();
        if (next !== undefined) {
          this.#start(next);
          continue;
        }
        if (this.#upgrade !== null && this.#upgradeRest !== null) {
          this.#handOver(this.#upgrade.req, this.#upgradeRest);
          return;
        }
        this.#becomeIdle();
        break;
      }
    } catch (error) {
      // A handler threw after its answer ended: what is queued would wait for nothing.
      this.socket.destroy();
      throw error;
    } finally {
      this.#advancing = false;
    }
    this.resumeReading();
  }

  /** Body bytes wait in requests not started yet past what one may hold: the client is not read on. */
  #queuedBodiesFull(): boolean {
    if (this.#parsing?.bufferFull) return true;
    let bytes = 0;
    for (const req of this.#queue) bytes += req.readableLength;
    return bytes > BODY_BUFFER_LIMIT;
  }

  /** The last response's bytes waiting for the client were all written. */
  #drained(): void {
    const active = this.#active;
    if (active === null) this.#becomeIdle();
    else if (!active.writableEnded) active.drained();
    else if (this.idleSince === UNTIMED) this.idleSince = UNSTAMPED; // answered early: now the rest of the body is timed
  }

  /** The keep-alive clock starts once the last response is written out, as node:http's does. */
  #becomeIdle(): void {
    if (this.#parsing !== null || this.#active !== null || this.#closed) return;
    if (this.#writer.waiting) {
      this.idleSince = UNTIMED; // busy until the last response is written out (#drained)
      return;
    }
    this.idleSince = UNSTAMPED;
    this.headStarted = false;
  }

  #parseError(error: ParseError): void {
    if (this.#closed) return;
    // After a request that closes the connection llhttp refuses more bytes: that request's
    // answer still goes out, and then the connection closes. The client is read on, each read
    // refused again and dropped, so that one leaving meanwhile is heard.
    if (error.code === "HPE_CLOSED_CONNECTION" && (this.#active !== null || this.#queue.length > 0)) {
      this.#lastRequest = true;
      if (this.#active === null) this.#next();
      return;
    }
    this.#closed = true;
    const active = this.#active;
    if (error.code === "ECONNRESET" || !this.socket.writable || active?.headersSent) {
      this.socket.destroy();
      return;
    }
    const { status, reason } = describeClientError(error.code);
    this.socket.end(rawResponse(status, `${this.#options.component}: ${reason}`));
    this.socket.destroySoon?.();
    active?.closed();
  }

  #handOverUpgrade(parsed: number): void {
    const upgrade = this.#upgrade;
    if (upgrade === null || this.#upgradeRest !== null) return;
    const rest = (this.#executing ?? this.#parser.getCurrentBuffer()).subarray(parsed);
    if (this.#active !== null || this.#queue.length > 0) {
      // Pipelined behind requests still to answer: node:http cannot take the connection over in
      // the middle of an answer, so the upgrade waits (nothing more is read; node's buffer is
      // not ours to keep) and goes once they are answered (#next), unless one closes the connection.
      this.#upgradeRest = Buffer.from(rest);
      this.#lastRequest = true;
      this.pauseReading();
      // In the first bytes the handle is still net.Socket's, which reads on: it keeps what comes
      // (paused) for node:http, behind the head handed over.
      if (this.#executing !== null) this.socket.pause();
      if (this.#active === null) this.#next();
      return;
    }
    this.#handOver(upgrade.req, rest);
  }

  #handOver(req: RawRequest, rest: Buffer): void {
    this.#closed = true;
    this.#detach();
    // Reading stopped while the upgrade waited: net.Socket, which thinks a read is still under
    // way, would not start it again.
    if (!this.#handle.reading && !this.socket.destroyed) {
      this.#handle.reading = true;
      this.#handle.readStart();
    }
    this.#options.handOver(this.socket, Buffer.concat([Buffer.from(upgradeHead(req), "latin1"), rest]));
  }

  #detach(): void {
    this.detached = true;
    try {
      this.#parser.unconsume();
    } catch {
      // Not consumed yet (the upgrade came in the first bytes).
    }
    this.#handle._consumed = false;
    this.socket.removeAllListeners("close");
    this.socket.removeAllListeners("error");
    // The socket's close no longer frees the parser (#onSocketClose): node:http has its own.
    setImmediate(closeParser, this.#parser);
    this.#options.onClose(this);
  }

  #onSocketClose(): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#parsing?.discard();
    for (const req of this.#queue) req.destroyed = true;
    if (this.#active !== null && !this.#active.writableEnded) {
      this.#active.req.destroyed = true;
      this.#active.closed();
    }
    this.#queue = [];
    if (!wasClosed || this.#active !== null) this.#active = null;
    // As node:http frees its parsers: once the stack that may hold this one has unwound.
    setImmediate(closeParser, this.#parser);
    this.#options.onClose(this);
  }
}

function closeParser(parser: NodeParser): void {
  parser.close();
}

function hasHost(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) if (sameHeaderName(raw[i], "host")) return true;
  return false;
}

/**
 * Whether llhttp reads a body after this head, by its rule: chunked last among the transfer
 * codings, or a Content-Length above 0. It stops at the head of an upgrade request without one
 * (a Transfer-Encoding of only other codings included).
 */
function declaresBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "transfer-encoding" && /(^|,)[ \t]*chunked[ \t]*$/i.test(raw[i + 1])) return true;
    if (name === "content-length" && Number(raw[i + 1]) > 0) return true;
  }
  return false;
}

/** The Expect header, several joined as node:http joins them (", "). */
function expectation(raw: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2)
    if (sameHeaderName(raw[i], "expect"))
      value = value === undefined ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
  return value;
}
