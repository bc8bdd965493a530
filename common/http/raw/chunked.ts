// Chunked transfer coding (RFC 9112 §7.1) for bodies the raw path re-frames: a body whose length
// is not known is sent as chunks, one per piece as it arrives.

const CRLF = Buffer.from("\r\n");

// What is written to a socket is allocated outside Buffer's 8 KB pool (allocUnsafeSlow). Pooled,
// the slabs piled up as array buffers (12 MB after 45 s of wrk -c64; any live slice keeps a slab,
// and one promoted to the old generation waits for a full GC, which external memory brings on only
// after tens of MB): a queue-proxy's RSS grew ~0.4 MB a second, to 89 MB; with these, 69 MB and
// ~0.2 MB of array buffers, at no measurable CPU per request (docs/prebuilt.md).

/** A chunk's size line. */
export function chunkHeader(length: number): string {
  return `${length.toString(16)}\r\n`;
}

/** The last chunk, with any trailer fields (names and values already validated by llhttp). */
export function lastChunk(trailers?: Record<string, string | string[]>): string {
  if (trailers === undefined) return "0\r\n\r\n";
  let out = "0\r\n";
  for (const name in trailers) {
    const value = trailers[name];
    if (typeof value === "string") out += `${name}: ${value}\r\n`;
    else for (const item of value) out += `${name}: ${item}\r\n`;
  }
  return `${out}\r\n`;
}

/** One chunk as a single buffer: size line, data, CRLF (one write, one syscall). */
export function frameChunk(data: Buffer, prefix = ""): Buffer {
  const header = prefix + chunkHeader(data.length);
  const out = Buffer.allocUnsafeSlow(header.length + data.length + 2);
  out.write(header, 0, "latin1");
  data.copy(out, header.length);
  CRLF.copy(out, header.length + data.length);
  return out;
}

/**
 * Up to this many bytes, a head and a body piece are joined as one latin1 string: node writes a
 * string up to 16 KB from a stack buffer, so no Buffer is made (and later swept) per response.
 */
const JOIN_AS_STRING_MAX = 16 * 1024;

/**
 * A head (latin1) and a body piece, for one write: a latin1 string when small (latin1 maps each
 * byte to one character and back, so the body's bytes go out as they came), else one buffer.
 */
export function joinHead(head: string, data: Buffer): Buffer | string {
  if (head.length + data.length <= JOIN_AS_STRING_MAX) return head + data.toString("latin1");
  const out = Buffer.allocUnsafeSlow(head.length + data.length);
  out.write(head, 0, "latin1");
  data.copy(out, head.length);
  return out;
}
