import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { Tunnel, type TunnelOptions } from "../common/http/tunnel.ts";
import { FrameBoundaryTracker, GOING_AWAY_FRAME } from "./websocket-frames.ts";

/**
 * The queue-proxy's WebSocket tunnel to the app: the shared one (breaker slot for its whole life,
 * as in Knative), plus a drain that tells the client to go away (close 1001) at a frame boundary
 * instead of cutting a frame in half.
 */
export class DrainableTunnel extends Tunnel {
  #frames: FrameBoundaryTracker | null = null;
  #goAwayRequested = false;
  #goneAway = false;

  constructor(options: TunnelOptions, req: IncomingMessage, client: Duplex, head: Buffer) {
    super(options, req, client, head);
  }

  protected override upgraded(): void {
    this.#frames = new FrameBoundaryTracker();
    // Asked to go away before the 101: the WebSocket is addressed right after its head.
    if (this.#goAwayRequested) this.#sendGoAway();
  }

  protected override fromUpstream(chunk: Buffer): void {
    const frames = this.#frames;
    if (this.#goneAway || frames === null) return; // after our close frame, the client gets no more frames
    if (!this.#goAwayRequested) {
      frames.feed(chunk);
      this.toClient(chunk);
      return;
    }
    const boundary = frames.feed(chunk, true);
    this.toClient(chunk.subarray(0, boundary));
    if (frames.atBoundary) this.#sendGoAway();
  }

  /** Drain: ask the client to close (1001 going away) as soon as no frame is half-sent. */
  goAway(): void {
    if (this.#goAwayRequested) return;
    this.#goAwayRequested = true;
    if (this.#frames?.atBoundary) this.#sendGoAway();
  }

  #sendGoAway(): void {
    this.#goneAway = true;
    this.toClient(GOING_AWAY_FRAME);
    this.options.ctx.log.debug({ url: this.req.url }, "websocket told to go away");
  }
}
