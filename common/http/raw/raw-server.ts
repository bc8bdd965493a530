import type { Socket } from "node:net";
import type { ListenerLimits } from "../listener-limits.ts";
import { ClientConnection } from "./client-connection.ts";
import { consumableHandle, type NodeParserBinding } from "./node-parser.ts";
import type { RawRequest } from "./raw-request.ts";
import type { RawResponse } from "./raw-response.ts";
import { EXPIRED, sweepStamp } from "./sweep-stamp.ts";

export interface RawServerOptions {
  component: string;
  binding: NodeParserBinding;
  limits: ListenerLimits;
  onRequest(req: RawRequest, res: RawResponse): void;
  /** Where connections go that the raw path does not serve (upgrades, sockets it cannot read). */
  handOver(socket: Socket, bytes: Buffer): void;
}

/**
 * The raw HTTP/1.1 side of a data listener: takes sniffed connections, and enforces the header
 * and keep-alive timeouts with one sweep over its connections (no timer per connection or request).
 */
export class RawServer {
  readonly #options: RawServerOptions;
  readonly #connections = new Set<ClientConnection>();
  readonly #sweep: NodeJS.Timeout;
  readonly #closeConnection = (connection: ClientConnection) => this.#connections.delete(connection);

  constructor(options: RawServerOptions) {
    this.#options = options;
    const { headersTimeoutMs } = options.limits;
    this.#sweep = setInterval(() => this.#expire(Date.now()), Math.min(1000, headersTimeoutMs / 2));
    this.#sweep.unref();
  }

  get size(): number {
    return this.#connections.size;
  }

  /** A connection whose first bytes (`first`) say HTTP/1. */
  accept(socket: Socket, first: Buffer): void {
    const handle = consumableHandle(socket);
    if (handle === undefined) {
      this.#options.handOver(socket, first);
      return;
    }
    const { component, binding, limits, onRequest, handOver } = this.#options;
    const connection = new ClientConnection(socket, handle, first, {
      component,
      binding,
      maxHeaderBytes: limits.maxHeaderBytes,
      keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
      onRequest,
      handOver,
      onClose: this.#closeConnection,
    });
    if (!socket.destroyed && !connection.detached) this.#connections.add(connection);
  }

  closeIdleConnections(): void {
    for (const connection of this.#connections) if (connection.idle) connection.destroy();
  }

  closeAllConnections(): void {
    for (const connection of this.#connections) connection.destroy();
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  #expire(now: number): void {
    const { headersTimeoutMs, keepAliveTimeoutMs } = this.#options.limits;
    for (const connection of this.#connections) {
      const limitMs = connection.headStarted ? headersTimeoutMs : keepAliveTimeoutMs;
      const since = sweepStamp(connection.idleSince, now, limitMs);
      if (since === EXPIRED) connection.timedOut();
      else connection.idleSince = since;
    }
  }
}
