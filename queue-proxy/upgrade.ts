import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConcurrencyStats } from "../common/concurrency-stats.ts";
import type { Logger } from "../common/log.ts";
import type { Breaker, BreakerWaiter } from "./breaker.ts";
import { FrameBoundaryTracker, GOING_AWAY_FRAME } from "./websocket-frames.ts";

export interface UpgradeContext {
  breaker: Breaker;
  stats: ConcurrencyStats;
  log: Logger;
  userHost: string;
  userPort: number;
}

const HEADER_END = Buffer.from("\r\n\r\n");

function rawResponse(status: string, message: string): string {
  const body = `${message}\n`;
  return `HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * One upgraded connection (WebSocket) relayed byte for byte to the app. It holds a breaker slot
 * for its whole life, as in Knative, and can tell the client to go away at a frame boundary.
 */
export class UpgradedConnection implements BreakerWaiter {
  readonly #ctx: UpgradeContext;
  readonly #req: IncomingMessage;
  readonly #client: Duplex;
  readonly #head: Buffer;
  readonly #proxied: boolean;
  #app: Socket | null = null;
  #admitted = false;
  #closed = false;
  /** Bytes of the app's HTTP response head seen so far, until the blank line. */
  #responseHead: Buffer | null = Buffer.alloc(0);
  #frames: FrameBoundaryTracker | null = null;
  #goAwayRequested = false;
  #goneAway = false;
  readonly #onClosed: (connection: UpgradedConnection) => void;

  constructor(
    ctx: UpgradeContext,
    req: IncomingMessage,
    client: Duplex,
    head: Buffer,
    proxied: boolean,
    onClosed: (connection: UpgradedConnection) => void,
  ) {
    this.#ctx = ctx;
    this.#req = req;
    this.#client = client;
    this.#head = head;
    this.#proxied = proxied;
    this.#onClosed = onClosed;
  }

  start(): void {
    this.#ctx.stats.arrive(Date.now(), this.#proxied);
    this.#client.on("error", () => this.close());
    this.#client.on("close", () => this.close());
    const entered = this.#ctx.breaker.enter(this);
    if (entered === "admitted") this.admit();
    else if (entered === "rejected") {
      this.#client.end(rawResponse("503 Service Unavailable", "queue-proxy: pending request queue full"));
      this.close();
    }
  }

  admit(): void {
    this.#admitted = true;
    const app = connect({ host: this.#ctx.userHost, port: this.#ctx.userPort });
    this.#app = app;
    app.setNoDelay(true);
    app.once("connect", () => {
      app.write(this.#requestHead());
      if (this.#head.length > 0) app.write(this.#head);
      this.#client.pipe(app);
    });
    app.on("data", (chunk: Buffer) => this.#fromApp(chunk));
    app.on("error", (error: NodeJS.ErrnoException) => {
      if (this.#responseHead !== null && this.#responseHead.length === 0) {
        this.#client.end(
          rawResponse("502 Bad Gateway", `queue-proxy: error talking to the app: ${error.code}`),
        );
      }
      this.close();
    });
    app.on("end", () => this.#client.end());
    app.on("close", () => this.close());
  }

  #requestHead(): string {
    const raw = this.#req.rawHeaders;
    let head = `${this.#req.method} ${this.#req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    return `${head}\r\n`;
  }

  #fromApp(chunk: Buffer): void {
    if (this.#goneAway) return; // after our close frame, the client must get no more frames
    if (this.#responseHead !== null) {
      // Still in the HTTP response head: frames only start after a 101.
      const seen = Buffer.concat([this.#responseHead, chunk]);
      const end = seen.indexOf(HEADER_END);
      if (end === -1) {
        this.#responseHead = seen;
        this.#client.write(chunk);
        return;
      }
      this.#responseHead = null;
      if (seen.subarray(9, 12).toString() === "101") this.#frames = new FrameBoundaryTracker();
      const headInChunk = end + HEADER_END.length - (seen.length - chunk.length);
      this.#client.write(chunk.subarray(0, headInChunk));
      chunk = chunk.subarray(headInChunk);
      if (this.#goAwayRequested && this.#frames) {
        this.#sendGoAway();
        return;
      }
    }
    if (this.#frames === null) {
      this.#client.write(chunk);
      return;
    }
    if (!this.#goAwayRequested) {
      this.#frames.feed(chunk);
      if (!this.#client.write(chunk)) {
        this.#app?.pause();
        this.#client.once("drain", () => this.#app?.resume());
      }
      return;
    }
    const boundary = this.#frames.feed(chunk, true);
    this.#client.write(chunk.subarray(0, boundary));
    if (this.#frames.atBoundary) this.#sendGoAway();
  }

  /** Drain: ask the client to close (1001 going away) as soon as no frame is half-sent. */
  goAway(): void {
    if (this.#goAwayRequested || this.#closed) return;
    this.#goAwayRequested = true;
    // Before the 101 there is no WebSocket to address yet: #fromApp sends it right after the head.
    if (this.#frames?.atBoundary) this.#sendGoAway();
  }

  #sendGoAway(): void {
    this.#goneAway = true;
    this.#client.write(GOING_AWAY_FRAME);
    this.#ctx.log.debug({ url: this.#req.url }, "websocket told to go away");
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#admitted) this.#ctx.breaker.leave(this);
    else this.#ctx.breaker.release();
    this.#ctx.stats.depart(Date.now(), this.#proxied);
    this.#app?.destroy();
    this.#client.destroy();
    this.#onClosed(this);
  }
}
