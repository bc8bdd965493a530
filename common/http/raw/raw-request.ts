import type { Socket } from "node:net";
import { sameHeaderName } from "../header-name.ts";

/** Where a request body goes as it arrives (the upstream connection). */
export interface BodySink {
  /** false: stop the client until the sink drains (it calls resume()). */
  write(chunk: Buffer): boolean;
  end(): void;
}

/** What a raw request needs of its connection: reads paused and resumed for backpressure. */
export interface RequestConnection {
  pauseReading(): void;
  resumeReading(): void;
}

/** Buffered body beyond this (a request queued or still connecting) stops reading the client. */
export const BODY_BUFFER_LIMIT = 64 * 1024;

/**
 * An HTTP/1.1 request as llhttp framed it, shaped like the part of node's IncomingMessage the
 * data plane reads (method, url, version, rawHeaders, headers, socket), so the request checks,
 * handlers and the Exchange serve both paths. Its body is pushed by the parser and handed to one
 * sink, with backpressure through the client connection's reads; until a sink is attached it is
 * buffered (a little: past the limit the client is paused).
 */
export class RawRequest {
  readonly method: string;
  url: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** llhttp's verdict: the client's connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** The whole body has arrived (or there was none). */
  complete = false;
  /** Node's names, read by the router's retry check: the body was not taken yet. */
  readableDidRead = false;
  readonly readableFlowing = null;
  destroyed = false;
  readonly #connection: RequestConnection;
  #headers: Record<string, string> | undefined;
  #chunks: Buffer[] | null = null;
  #buffered = 0;
  #sink: BodySink | null = null;
  #discard = false;
  #onReadable: ((this: RawRequest) => void) | null = null;

  constructor(
    connection: RequestConnection,
    socket: Socket,
    method: string,
    url: string,
    versionMajor: number,
    versionMinor: number,
    rawHeaders: string[],
    keepAlive: boolean,
  ) {
    this.#connection = connection;
    this.socket = socket;
    this.method = method;
    this.url = url;
    this.httpVersionMajor = versionMajor;
    this.httpVersionMinor = versionMinor;
    this.httpVersion = versionMajor === 1 && versionMinor === 1 ? "1.1" : `${versionMajor}.${versionMinor}`;
    this.rawHeaders = rawHeaders;
    this.keepAlive = keepAlive;
  }

  /** Lower-case names to values, built on first use (the router reads Host and a tag or two). */
  get headers(): Record<string, string> {
    if (this.#headers !== undefined) return this.#headers;
    const out: Record<string, string> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      const seen = out[name];
      // As node: the first Host counts (two are refused anyway), repeats of others are joined.
      if (seen === undefined) out[name] = raw[i + 1];
      else if (name !== "host") out[name] = `${seen}, ${raw[i + 1]}`;
    }
    this.#headers = out;
    return out;
  }

  /**
   * One header's value as `headers` would give it (lower-case name; repeats joined, the first
   * Host), found without making the object: the router reads two headers of a request's many.
   */
  header(lowerName: string): string | undefined {
    if (this.#headers !== undefined) return this.#headers[lowerName];
    const raw = this.rawHeaders;
    let value: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (!sameHeaderName(name, lowerName)) continue;
      if (value === undefined) value = raw[i + 1];
      else if (lowerName !== "host") value = `${value}, ${raw[i + 1]}`;
    }
    return value;
  }

  /** Body bytes wait in the buffer past its limit (no sink yet): the client is not read on. */
  get bufferFull(): boolean {
    return this.#buffered > BODY_BUFFER_LIMIT;
  }

  /** The parser's body bytes. */
  push(chunk: Buffer): void {
    if (this.#discard) return;
    if (this.#sink !== null) {
      if (!this.#sink.write(chunk)) this.#connection.pauseReading();
      return;
    }
    if (this.#chunks === null) this.#chunks = [chunk];
    else this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.bufferFull) this.#connection.pauseReading();
    this.#readable();
  }

  /** The parser's end of the message. */
  end(): void {
    this.complete = true;
    if (!this.#discard) this.#sink?.end();
    this.#readable();
  }

  // What the Exchange reads to hold a request whose body has not started (node's names): it
  // goes upstream with its first body byte, holding no slot before, as on node:http's path.

  get readableLength(): number {
    return this.#buffered;
  }

  /** Nothing more will come and nothing is left to read: an empty body. */
  get readableEnded(): boolean {
    return this.complete && this.#buffered === 0;
  }

  once(event: "readable", listener: (this: RawRequest) => void): this {
    if (event === "readable") this.#onReadable = listener;
    return this;
  }

  removeListener(event: "readable", _listener: (this: RawRequest) => void): this {
    if (event === "readable") this.#onReadable = null;
    return this;
  }

  #readable(): void {
    const listener = this.#onReadable;
    if (listener === null) return;
    this.#onReadable = null;
    listener.call(this);
  }

  /**
   * Hands the body to `sink`: what came so far is returned (to go out with the head), what comes
   * later is written to the sink, and the sink's end() follows the body's.
   */
  attach(sink: BodySink): Buffer[] | null {
    this.readableDidRead = true;
    const chunks = this.#chunks;
    this.#chunks = null;
    this.#buffered = 0;
    if (!this.complete) {
      this.#sink = sink;
      this.#connection.resumeReading();
    }
    return chunks;
  }

  /** The sink drained: read the client again. */
  resume(): void {
    if (!this.#discard) this.#connection.resumeReading();
  }

  /** Nobody wants the rest of the body (the response ended, or upstream failed): drop it. */
  discard(): void {
    this.#discard = true;
    this.#sink = null;
    this.#chunks = null;
    this.#buffered = 0;
    this.#connection.resumeReading();
  }
}
