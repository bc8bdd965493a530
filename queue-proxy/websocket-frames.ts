/**
 * Follows WebSocket frame boundaries in the server-to-client byte stream (RFC 6455 §5.2), only
 * reading frame headers, so that a close frame can be slipped in between two frames when the pod
 * drains ("going away") instead of cutting the connection.
 */
export class FrameBoundaryTracker {
  /** Bytes left in the current frame (header included) before the next frame starts. */
  #remaining = 0;
  /** A frame header split across chunks. */
  #partial: Buffer | null = null;

  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#partial === null;
  }

  /**
   * Walks `chunk` frame by frame. Returns chunk.length, or with `stopAtBoundary` the offset just
   * after the first frame that ends inside the chunk (the rest of the chunk is then not consumed).
   */
  feed(chunk: Buffer, stopAtBoundary = false): number {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        this.#remaining -= take;
        offset += take;
        if (this.#remaining === 0 && stopAtBoundary) return offset;
        continue;
      }
      const pending = this.#partial
        ? Buffer.concat([this.#partial, chunk.subarray(offset)])
        : chunk.subarray(offset);
      const length = frameLength(pending);
      if (length === -1) {
        this.#partial = Buffer.from(pending); // under 14 bytes: a header cut short
        return chunk.length;
      }
      // The header bytes held over from the previous chunk were already consumed there.
      this.#remaining = length - (this.#partial?.length ?? 0);
      this.#partial = null;
    }
    return chunk.length;
  }
}

/** Total frame length (header + payload) from its first bytes, or -1 if more bytes are needed. */
export function frameLength(bytes: Buffer): number {
  if (bytes.length < 2) return -1;
  const masked = (bytes[1] & 0x80) !== 0 ? 4 : 0;
  const short = bytes[1] & 0x7f;
  if (short < 126) return 2 + masked + short;
  if (short === 126) return bytes.length < 4 ? -1 : 4 + masked + bytes.readUInt16BE(2);
  if (bytes.length < 10) return -1;
  return 10 + masked + Number(bytes.readBigUInt64BE(2));
}

/** An unmasked server close frame with status 1001 "going away". */
export const GOING_AWAY_FRAME = Buffer.from([0x88, 0x02, 0x03, 0xe9]);
