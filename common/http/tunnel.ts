import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Gate, GateWaiter } from "./proxy-exchange.ts";

/** A plain-text HTTP/1.1 response written straight to a socket (before or instead of a 101). */
export function rawResponse(
  status: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
): string {
  const body = `${message}\n`;
  let head = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

export interface TunnelOptions {
  gate: Gate;
  /** Names the hop in replies ("router: …"). */
  component: string;
  /** The upgrade request's headers as sent upstream (flat name/value list), built once admitted. */
  requestHeaders: () => string[];
  /** Longest wait for the gate to admit the upgrade. */
  waitTimeoutMs: number;
  /** The open tunnels (a component closes them on shutdown); each adds and removes itself. */
  open: Set<Tunnel>;
}

/**
 * An upgraded connection (WebSocket) relayed byte for byte to the origin the gate picks: the
 * request head is replayed as it came, then both directions are piped until either side closes.
 * It holds its gate slot for its whole life, as a long request would.
 */
export class Tunnel implements GateWaiter {
  origin: string | undefined = undefined;
  readonly startedAt = Date.now();
  readonly #options: TunnelOptions;
  readonly #req: IncomingMessage;
  readonly #client: Duplex;
  readonly #head: Buffer;
  #upstream: Socket | null = null;
  #waitTimer: NodeJS.Timeout | undefined;
  #state: "waiting" | "admitted" | "closed" = "waiting";

  constructor(options: TunnelOptions, req: IncomingMessage, client: Duplex, head: Buffer) {
    this.#options = options;
    this.#req = req;
    this.#client = client;
    this.#head = head;
  }

  start(): void {
    this.#options.open.add(this);
    this.#client.on("error", () => this.close());
    this.#client.on("close", () => this.close());
    const entered = this.#options.gate.enter(this);
    if (entered === "admitted") this.admit();
    else if (entered === "rejected") this.fail(503, `${this.#options.component}: pending request queue full`);
    else {
      this.#waitTimer = setTimeout(
        () =>
          this.fail(
            503,
            `${this.#options.component}: no capacity for the upgrade within ${this.#options.waitTimeoutMs / 1000}s`,
          ),
        this.#options.waitTimeoutMs,
      );
    }
  }

  admit(): void {
    if (this.#state !== "waiting") {
      this.#options.gate.release(this); // admitted after the client left
      return;
    }
    clearTimeout(this.#waitTimer);
    this.#state = "admitted";
    const url = new URL(this.origin ?? "http://127.0.0.1");
    const upstream = connect({ host: url.hostname, port: Number(url.port || 80) });
    this.#upstream = upstream;
    upstream.setNoDelay(true);
    upstream.once("connect", () => {
      upstream.write(this.#requestHead());
      if (this.#head.length > 0) upstream.write(this.#head);
      this.#client.pipe(upstream);
      upstream.pipe(this.#client);
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (upstream.bytesRead === 0 && this.#client.writable)
        this.#client.end(
          rawResponse(
            502,
            "Bad Gateway",
            `${this.#options.component}: error connecting upstream: ${error.code ?? error.message}`,
          ),
        );
      this.close();
    });
    upstream.on("close", () => this.close());
  }

  /** Turns the upgrade away with an HTTP error (only before it was admitted). */
  fail(status: number, message: string, headers?: Record<string, string>): void {
    if (this.#state !== "waiting") return;
    if (this.#client.writable)
      this.#client.end(
        rawResponse(status, status === 502 ? "Bad Gateway" : "Service Unavailable", message, headers),
      );
    this.close();
  }

  close(): void {
    if (this.#state === "closed") return;
    const wasAdmitted = this.#state === "admitted";
    this.#state = "closed";
    clearTimeout(this.#waitTimer);
    if (wasAdmitted) this.#options.gate.release(this);
    else this.#options.gate.leave(this);
    this.#upstream?.destroy();
    this.#client.destroy();
    this.#options.open.delete(this);
  }

  #requestHead(): string {
    const headers = this.#options.requestHeaders();
    let head = `${this.#req.method} ${this.#req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    return `${head}\r\n`;
  }
}
