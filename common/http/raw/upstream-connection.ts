import { connect, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { urlHost } from "../url-host.ts";
import { frameChunk, joinHead } from "./chunked.ts";
import { addHeaders } from "./header-object.ts";
import type { NodeParser, NodeParserBinding, ParseError, ParserCallbacks } from "./node-parser.ts";
import { upstreamRequestHead } from "./request-head.ts";
import { NO_REUSE, reuseAfter } from "./reuse.ts";
import { SocketWriter } from "./socket-writer.ts";
import { UNSTAMPED, UNTIMED } from "./sweep-stamp.ts";
import type { RequestCarrier, UpstreamRequest } from "./upstream-request.ts";

/** undici's error for a connection the other side closed mid-exchange (same 502 text). */
export class SocketError extends Error {
  readonly code = "UND_ERR_SOCKET";
}

/**
 * A response with no HTTP status: llhttp's code for it, so that, like a parse error, it is a 502
 * and never a retry (the app has answered, however badly).
 */
class InvalidStatusError extends Error {
  readonly code = "HPE_INVALID_STATUS";
}

export interface ConnectionOwner {
  /** The response is complete and the connection can carry another request. */
  release(connection: UpstreamConnection): void;
  /** The connection is closed or unusable. */
  remove(connection: UpstreamConnection): void;
}

interface HandleLike {
  reading?: boolean;
  readStart(): number;
  readStop(): number;
  _consumed?: boolean;
}

const LAST_CHUNK = "0\r\n\r\n";
/** A response without trailers (nearly all): one frozen object, not one per response. */
const NO_TRAILERS: Record<string, string | string[]> = Object.freeze({});

/**
 * One keep-alive connection to an upstream origin on a raw socket, its responses framed by llhttp
 * reading the socket in C++. Carries one request at a time; goes back to its pool only after a
 * complete response to a completely sent request on a connection both sides keep alive.
 */
export class UpstreamConnection implements ParserCallbacks, RequestCarrier {
  socket: Socket;
  #writer: SocketWriter;
  readonly #owner: ConnectionOwner;
  readonly #binding: NodeParserBinding;
  readonly #parser: NodeParser;
  readonly #host: string;
  readonly #defaultKeepAliveMs: number;
  #handle: HandleLike | null = null;
  #connected = false;
  #closed = false;
  #current: UpstreamRequest | null = null;
  #chunked = false;
  #keepAlive = true;
  #informational = false;
  #headers: string[] | null = null;
  #trailers: Record<string, string | string[]> | null = null;
  /** When this connection went idle (for the pool's keep-alive timeout; see sweep-stamp.ts). */
  idleSince = UNTIMED;
  /** How long it may stay idle: the pool's keep-alive timeout, or less if the app asks (reuse.ts). */
  keepAliveMs: number;
  /** When its connect began (for the pool's connect timeout). */
  connectingSince = UNSTAMPED;

  readonly #listeners = {
    connect: () => this.#onConnect(),
    error: (error: Error) => this.#onError(error),
    end: () => this.#onEnd(),
    close: () => this.#onClose(),
  };
  /** Connecting to the origin's Unix socket: its TCP port is the way in if that fails (#tcpFallback). */
  #onSocket: boolean;
  readonly #tcp: { host: string; port: number };

  /** `socketPath`: the origin's Unix socket on this machine; `host:port` stays its Host. */
  constructor(
    host: string,
    port: number,
    socketPath: string | undefined,
    binding: NodeParserBinding,
    owner: ConnectionOwner,
    keepAliveMs: number,
  ) {
    this.#owner = owner;
    this.keepAliveMs = keepAliveMs;
    this.#defaultKeepAliveMs = keepAliveMs;
    this.#binding = binding;
    this.#host = `${urlHost(host)}:${port}`; // the pool has the bare address
    this.#parser = binding.create("response", this, 0);
    this.#onSocket = socketPath !== undefined;
    this.#tcp = { host, port };
    this.socket = this.#listen(
      socketPath === undefined ? connect({ host, port, noDelay: true }) : connect({ path: socketPath }),
    );
    this.#writer = this.#writerFor(this.socket);
  }

  /** Its connect has not completed. */
  get connecting(): boolean {
    return !this.#connected && !this.#closed;
  }

  get busy(): boolean {
    return this.#current !== null;
  }

  get current(): UpstreamRequest | null {
    return this.#current;
  }

  /** Sends `request` (now, or once connected). */
  send(request: UpstreamRequest): void {
    this.#current = request;
    this.#informational = false;
    this.#trailers = null;
    request.carrier = this;
    if (this.#connected) this.#write(request);
  }

  // controller side ---------------------------------------------------------------------------

  pause(): void {
    const handle = this.#handle;
    if (handle?.reading) {
      handle.reading = false;
      handle.readStop();
    }
  }

  resume(): void {
    const handle = this.#handle;
    if (handle !== null && !handle.reading && !this.#closed) {
      handle.reading = true;
      handle.readStart();
    }
  }

  abort(request: UpstreamRequest, reason: Error): void {
    if (this.#current !== request) return;
    this.#destroy();
    request.fail(reason);
  }

  writeBody(request: UpstreamRequest, chunk: Buffer): boolean {
    if (this.#closed) return true;
    // The app has had no whole request yet: its time to answer starts again (undici's too).
    request.sentAt = UNSTAMPED;
    return this.#writer.write(this.#chunked ? frameChunk(chunk) : chunk);
  }

  endBody(request: UpstreamRequest): void {
    if (this.#chunked && !this.#closed) this.#writer.write(LAST_CHUNK);
    request.sent = true;
    request.sentAt = UNSTAMPED;
  }

  // parser callbacks ----------------------------------------------------------------------------

  onHeaders(headers: string[]): void {
    const request = this.#current;
    if (request?.responding) {
      // Trailers, after the body.
      this.#trailers ??= {};
      addHeaders(this.#trailers, headers);
    } else {
      this.#headers ??= [];
      this.#headers.push(...headers);
    }
  }

  onHeadersComplete(
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    _method: number | undefined,
    _url: string | undefined,
    status: number,
    message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    const request = this.#current;
    const raw = headers ?? this.#headers ?? [];
    this.#headers = null;
    if (request === null || request.done) {
      this.#destroy();
      return 0;
    }
    if (status === 101 || upgrade) {
      // The pool sends no upgrade (WebSocket tunnels go through node:http), and node's parser stops
      // at this head, dropping what follows: undici's answer, a failed request.
      this.#destroy();
      request.fail(new SocketError("bad upgrade"));
      return 0;
    }
    if (status < 100) {
      // No HTTP status (llhttp reads any three digits): what node:http's path answers, a 502.
      this.#destroy();
      request.fail(new InvalidStatusError(`bad response status ${status}`));
      return 0;
    }
    if (status < 200) {
      // 1xx (103 Early Hints, a stray 100): not the response; undici drops them too.
      this.#informational = true;
      return 0;
    }
    const reuse = keepAlive && !request.isHead ? reuseAfter(status, raw, this.#defaultKeepAliveMs) : NO_REUSE;
    this.#keepAlive = reuse !== NO_REUSE;
    if (reuse !== NO_REUSE) this.keepAliveMs = reuse;
    request.responding = true;
    request.lastDataAt = UNSTAMPED;
    const { handler } = request;
    // What a handler throws fails its request alone, as in undici; thrown out of a parser
    // callback it would be uncaught, and stop the process.
    try {
      if (handler.onRawResponseStart !== undefined) handler.onRawResponseStart(request, status, raw, message);
      else if (handler.onResponseStart !== undefined) {
        const object: Record<string, string | string[]> = {};
        addHeaders(object, raw);
        handler.onResponseStart(request, status, object, message);
      }
    } catch (error) {
      this.#handlerThrew(request, error);
      return 0;
    }
    return request.isHead ? 1 : 0;
  }

  onBody(chunk: Buffer): void {
    const request = this.#current;
    if (request === null || request.done) return;
    request.lastDataAt = UNSTAMPED; // data came: the pool's sweep reads the clock
    try {
      request.handler.onResponseData?.(request, chunk);
    } catch (error) {
      this.#handlerThrew(request, error);
    }
  }

  onMessageComplete(): void {
    if (this.#informational) {
      this.#informational = false;
      return;
    }
    const request = this.#current;
    if (request === null || request.done) return;
    request.done = true;
    this.#current = null;
    const trailers = this.#trailers ?? NO_TRAILERS;
    this.#trailers = null;
    if (this.#keepAlive && request.sent && !this.#closed) {
      this.idleSince = UNSTAMPED; // stamped by the pool's sweep
      this.resume();
      this.#owner.release(this);
    } else this.#destroy();
    try {
      request.handler.onResponseEnd?.(request, trailers);
    } catch (error) {
      // The response was whole and the connection is fine; the handler hears of its own error.
      request.handler.onResponseError?.(request, error as Error);
    }
  }

  onExecute(result: number | ParseError): void {
    if (typeof result === "number") return;
    const request = this.#current;
    this.#destroy();
    request?.fail(result);
  }

  /** The pool's sweep: a response that did not start, or went quiet, in time. */
  timedOut(error: Error): void {
    const request = this.#current;
    this.#destroy();
    request?.fail(error);
  }

  close(): void {
    this.#destroy();
  }

  // internals -----------------------------------------------------------------------------------

  /** A handler threw mid-response: the connection cannot carry the rest, and the request fails. */
  #handlerThrew(request: UpstreamRequest, error: unknown): void {
    this.#destroy();
    request.fail(error instanceof Error ? error : new Error(String(error)));
  }

  #onConnect(): void {
    this.#connected = true;
    const handle = (this.socket as unknown as { _handle: HandleLike })._handle;
    this.#handle = handle;
    handle._consumed = true;
    this.#parser.consume(handle);
    // Flowing, so 'end' is emitted; no data reaches JavaScript while the parser consumes.
    this.socket.resume();
    if (this.#current !== null) this.#write(this.#current);
  }

  #write(request: UpstreamRequest): void {
    const { method, path, headers, body } = request.options;
    request.sentAt = UNSTAMPED; // stamped by the pool's sweep
    if (request.isHead) this.#keepAlive = false;
    if (body === null || body === undefined) {
      request.sent = true;
      this.#writer.write(upstreamRequestHead(method, path, headers ?? [], false, this.#host).head);
      return;
    }
    if (!("attach" in body)) {
      const { head, chunked } = upstreamRequestHead(method, path, headers ?? [], true, this.#host);
      this.#chunked = chunked;
      this.#writer.write(head);
      pipeStream(body, request);
      return;
    }
    const chunks = body.attach(request);
    const complete = body.complete;
    // A body that has all arrived goes with its length, as undici sends a stream that has ended.
    const known = complete ? totalLength(chunks) : undefined;
    const { head, chunked } = upstreamRequestHead(method, path, headers ?? [], true, this.#host, known);
    this.#chunked = chunked;
    if (complete) request.sent = true;
    if (chunks === null) {
      this.#writer.write(head);
      return;
    }
    // The head and what the body has so far: one write.
    this.#writer.write(joinHead(head, chunked ? frameAll(chunks) : concat(chunks)));
  }

  /** The upstream took what was written: the request body (raw or a stream) may flow again. */
  #onDrain(): void {
    this.#current?.options.body?.resume();
  }

  #onEnd(): void {
    // A response delimited by the close ends here (llhttp completes it on finish()).
    if (this.#current?.responding) {
      const result = this.#parser.finish();
      if (result !== undefined && typeof result !== "number") this.onExecute(result);
    }
  }

  #onError(error: Error): void {
    if (this.#onSocket && !this.#connected) {
      this.#tcpFallback();
      return;
    }
    const request = this.#current;
    this.#destroy();
    request?.fail(error);
  }

  #onClose(): void {
    const request = this.#current;
    this.#closed = true;
    this.#current = null;
    // However the socket ended (closed by the other side, or destroyed here), node's parser is not
    // collected until closed (its C++ side holds it, and it holds this). A replaced socket
    // (#tcpFallback) has no listener left: the parser goes on with the new one.
    setImmediate(closeParser, this.#parser);
    this.#owner.remove(this);
    request?.fail(new SocketError("other side closed"));
  }

  /**
   * The socket could not be connected to; nothing has been sent, so the same queue-proxy's port
   * gives the real answer. A full accept queue refuses a Unix-socket connect at once (EAGAIN)
   * where TCP's would retry its SYN (a thousand requests released to a pod just ready); a socket
   * file removed under a live pod (ENOENT) must not take the pod out of service; a pod that is
   * gone refuses the TCP connect too, and that is the error the request sees.
   */
  #tcpFallback(): void {
    this.#onSocket = false;
    for (const [event, listener] of Object.entries(this.#listeners)) this.socket.off(event, listener);
    this.socket.destroy();
    this.socket = this.#listen(connect({ ...this.#tcp, noDelay: true }));
    this.#writer = this.#writerFor(this.socket);
    this.connectingSince = UNSTAMPED;
  }

  #writerFor(socket: Socket): SocketWriter {
    return new SocketWriter(socket, this.#binding.streamWrap, () => this.#onDrain());
  }

  #listen(socket: Socket): Socket {
    for (const [event, listener] of Object.entries(this.#listeners)) socket.on(event, listener);
    return socket;
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy(); // its 'close' frees the parser (#onClose)
    this.#owner.remove(this);
  }
}

function closeParser(parser: NodeParser): void {
  parser.close();
}

function totalLength(chunks: Buffer[] | null): number {
  let length = 0;
  if (chunks !== null) for (const chunk of chunks) length += chunk.length;
  return length;
}

function concat(chunks: Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

function frameAll(chunks: Buffer[]): Buffer {
  if (chunks.length === 1) return frameChunk(chunks[0]);
  return Buffer.concat(chunks.map((chunk) => frameChunk(chunk)));
}

/** A node:http request body (h2c or TLS clients on a raw upstream), with backpressure. */
function pipeStream(body: Readable, request: UpstreamRequest): void {
  body.on("data", (chunk: Buffer) => {
    if (!request.write(chunk)) body.pause();
  });
  body.on("end", () => request.end());
  body.on("error", () => request.abort(new SocketError("request body failed")));
}
