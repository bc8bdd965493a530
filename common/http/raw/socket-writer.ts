// Writes on a raw-path socket go straight to its native handle, as node's own net.Socket does
// underneath, without net.Socket's Writable around it: that makes a WriteWrap through a C++
// constructor, runs a dozen calls and queues a nextTick per write, and the raw path writes twice
// per proxied request (~4% of the router's CPU per request, within one run's noise:
// docs/data-path.md). What the kernel takes at once is done; what it cannot take yet stays
// queued in libuv, in order, and the writer reports backpressure until it is written. Like the
// parser, this is node's internal binding (process.binding's stream_wrap), checked at start-up
// (data-path.ts).
import type { Socket } from "node:net";

interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  writer: SocketWriter | null;
  /** A buffer waiting in libuv's queue, kept alive until written (node does the same). */
  buffer: Buffer | null;
}

interface StreamHandle {
  writeLatin1String(req: WriteReq, data: string): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
}

export interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  /** Set by each write: [kLastWriteWasAsync] is 1 when its bytes were queued, not all written. */
  streamBaseState: { [index: number]: number };
  kLastWriteWasAsync: number;
}

/** node's stream_wrap binding, or why it cannot be used. `load` stands in for it in tests. */
export function loadStreamWrap(
  load: () => unknown = () =>
    (process as unknown as { binding(name: string): unknown }).binding("stream_wrap"),
): StreamWrapBinding | { problem: string } {
  let binding: Partial<StreamWrapBinding>;
  try {
    binding = load() as Partial<StreamWrapBinding>;
  } catch (error) {
    return { problem: `stream_wrap: ${(error as Error).message}` };
  }
  if (typeof binding?.WriteWrap !== "function") return { problem: "stream_wrap has no WriteWrap" };
  if (typeof binding.kLastWriteWasAsync !== "number" || typeof binding.streamBaseState !== "object")
    return { problem: "stream_wrap has no streamBaseState" };
  return binding as StreamWrapBinding;
}

function onWriteComplete(this: WriteReq, status: number): void {
  this.writer?.completed(this, status);
}

/**
 * One socket's writes. `onDrain` runs when bytes that had to wait are all written (a write that
 * returned false). A write that fails destroys the socket, whose 'close' does the cleaning up.
 */
export class SocketWriter {
  readonly #socket: Socket;
  readonly #binding: StreamWrapBinding;
  readonly #onDrain: () => void;
  /** A request object to reuse: one whose write completed at once is free again. */
  #spare: WriteReq | null = null;
  #waiting = 0;

  constructor(socket: Socket, binding: StreamWrapBinding, onDrain: () => void) {
    this.#socket = socket;
    this.#binding = binding;
    this.#onDrain = onDrain;
  }

  /** Writes `data` (a string as latin1); false: it waits in the queue, wait for onDrain. */
  write(data: string | Buffer): boolean {
    const handle = (this.#socket as unknown as { _handle: StreamHandle | null })._handle;
    if (handle === null || this.#socket.destroyed) return false;
    const req = this.#spare ?? this.#request();
    const error =
      typeof data === "string" ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data);
    if (error !== 0) {
      this.#socket.destroy();
      return false;
    }
    if (this.#binding.streamBaseState[this.#binding.kLastWriteWasAsync] === 0) {
      this.#spare = req;
      return true;
    }
    // Queued: libuv owns the request until it is written.
    this.#spare = null;
    if (typeof data !== "string") req.buffer = data;
    this.#waiting++;
    return false;
  }

  /** Bytes are still waiting to be written. */
  get waiting(): boolean {
    return this.#waiting > 0;
  }

  /** libuv wrote (or gave up on) a queued write. */
  completed(req: WriteReq, status: number): void {
    req.buffer = null;
    req.writer = null;
    this.#waiting--;
    if (status < 0) this.#socket.destroy();
    else if (this.#waiting === 0) this.#onDrain();
  }

  #request(): WriteReq {
    const req = new this.#binding.WriteWrap();
    req.oncomplete = onWriteComplete;
    req.writer = this;
    req.buffer = null;
    return req;
  }
}
