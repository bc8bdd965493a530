import { STATUS_TEXT } from "../status-text.ts";
import { frameChunk, joinHead, lastChunk } from "./chunked.ts";
import type { RawRequest } from "./raw-request.ts";
import { type BodyFraming, clientResponseHead, flattenHeaders, httpDate } from "./response-head.ts";

/** What a response needs of its client connection. */
export interface ResponseConnection {
  /** Announced in Keep-Alive (the listener's idle timeout, whole seconds as node rounds it). */
  readonly keepAliveSeconds: number;
  write(data: Buffer | string): boolean;
  /** The response is written (keepAlive: the connection may take the next request). */
  responseDone(response: RawResponse, keepAlive: boolean): void;
  destroy(): void;
}

type Listener = (this: RawResponse) => void;

/** What node:http refuses in a reason phrase (checkInvalidHeaderChar): llhttp lets more through. */
const INVALID_REASON = /[^\t\x20-\x7e\x80-\xff]/;

/** node's error for it, so the Exchange's 502 reads the same on both paths. */
class InvalidCharError extends TypeError {
  readonly code = "ERR_INVALID_CHAR";
}

/**
 * A response written to a raw client connection, shaped like the part of node's ServerResponse the
 * data plane uses (writeHead, write, end, addTrailers, headersSent, 'close', 'drain'), so the
 * Exchange and sendPlain serve both paths. The head waits for the first body bytes (or the end)
 * and leaves with them in one write; a body of unknown length is chunked, as node does.
 */
export class RawResponse {
  readonly req: RawRequest;
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  /** false: the connection closes after this response (node's name). */
  shouldKeepAlive: boolean;
  readonly #connection: ResponseConnection;
  #head: string | null = null;
  #framing: BodyFraming = "none";
  #trailers: Record<string, string | string[]> | undefined;
  #onClose: Listener | null = null;
  #onDrain: Listener | null = null;
  /** The connection closed before this response was written whole. */
  #closed = false;

  constructor(connection: ResponseConnection, req: RawRequest) {
    this.#connection = connection;
    this.req = req;
    this.shouldKeepAlive = req.keepAlive;
  }

  writeHead(
    status: number,
    reasonOrHeaders?: string | readonly string[] | Record<string, string | number | readonly string[]>,
    maybeHeaders?: readonly string[] | Record<string, string | number | readonly string[]>,
  ): this {
    const reason = typeof reasonOrHeaders === "string" ? reasonOrHeaders : undefined;
    if (reason !== undefined && reason !== STATUS_TEXT[status] && INVALID_REASON.test(reason))
      throw new InvalidCharError("Invalid character in statusMessage");
    const given = typeof reasonOrHeaders === "string" ? maybeHeaders : reasonOrHeaders;
    const headers = given === undefined ? [] : Array.isArray(given) ? given : flattenHeaders(given as never);
    const { req } = this;
    const out = clientResponseHead(
      { method: req.method, versionMinor: req.httpVersionMinor, keepAlive: this.shouldKeepAlive },
      status,
      reason,
      headers,
      httpDate(),
      this.#connection.keepAliveSeconds,
    );
    this.statusCode = status;
    this.shouldKeepAlive = out.keepAlive;
    this.#head = out.head;
    this.#framing = out.framing;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.#closed) return false;
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.#framing === "none" || data.length === 0) return this.#flushHead();
    const head = this.#takeHead();
    if (this.#framing === "chunked") return this.#connection.write(frameChunk(data, head));
    return this.#connection.write(head === "" ? data : joinHead(head, data));
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    if (this.#head === null && !this.headersSent) this.writeHead(this.statusCode, []);
    if (chunk !== undefined && this.#framing !== "none") {
      const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      const head = this.#takeHead();
      if (this.#framing === "chunked")
        this.#connection.write(
          Buffer.concat([frameChunk(data, head), Buffer.from(lastChunk(this.#trailers))]),
        );
      else this.#connection.write(head === "" ? data : joinHead(head, data));
    } else if (this.#framing === "chunked")
      this.#connection.write(this.#takeHead() + lastChunk(this.#trailers));
    else this.#flushHead();
    this.writableEnded = true;
    if (!this.#closed) this.#connection.responseDone(this, this.shouldKeepAlive && this.#framing !== "close");
    return this;
  }

  /** Trailer fields for a chunked response (node sends them only then, and so does this). */
  addTrailers(trailers: Record<string, string | string[]>): void {
    this.#trailers = trailers;
  }

  destroy(): void {
    this.#connection.destroy();
  }

  once(event: "close" | "drain", listener: Listener): this {
    if (event === "close") this.#onClose = listener;
    else this.#onDrain = listener;
    return this;
  }

  removeListener(event: "close" | "drain", _listener: Listener): this {
    if (event === "close") this.#onClose = null;
    else this.#onDrain = null;
    return this;
  }

  /** The connection's send buffer drained. */
  drained(): void {
    const listener = this.#onDrain;
    this.#onDrain = null;
    listener?.call(this);
  }

  /** The connection closed before this response was complete. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const listener = this.#onClose;
    this.#onClose = null;
    listener?.call(this);
  }

  #takeHead(): string {
    const head = this.#head ?? "";
    this.#head = null;
    return head;
  }

  #flushHead(): boolean {
    const head = this.#takeHead();
    return head === "" ? true : this.#connection.write(head);
  }
}
