// The W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/#traceparent-header):
// `version-traceid-parentid-flags`, lowercase hex. Pure parsing and formatting, plus fresh ids.

/** One hop of a trace as carried by `traceparent`: the trace, the span that sent it, its flags. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the sender's span (the receiver's parent). */
  readonly spanId: string;
  /** The trace-flags byte; bit 0 is "sampled". */
  readonly flags: number;
}

/** The sampled bit of trace-flags. */
export const SAMPLED = 0x01;

const DASH = 45;

/** Whether value[start, end) is lowercase hex; -1 if not, else 1 if any digit is non-zero, else 0. */
function hex(value: string, start: number, end: number): number {
  let nonZero = 0;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (c !== 48) nonZero = 1;
    } else if (c >= 97 && c <= 102) nonZero = 1;
    else return -1;
  }
  return nonZero;
}

/**
 * Parses a traceparent header value; undefined when absent or invalid (the receiver then starts a
 * new trace). Rejects version ff, uppercase hex, all-zero ids, wrong lengths, and anything after
 * the flags in version 00; accepts the first four fields of a later version.
 */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  // version(2) - trace-id(32) - parent-id(16) - flags(2): 55 characters; a later version may
  // append `-…` fields we do not know.
  if (value === undefined || value.length < 55) return undefined;
  if (value.charCodeAt(2) !== DASH || value.charCodeAt(35) !== DASH || value.charCodeAt(52) !== DASH)
    return undefined;
  if (hex(value, 0, 2) < 0 || hex(value, 53, 55) < 0 || hex(value, 3, 35) < 1 || hex(value, 36, 52) < 1)
    return undefined;
  if (value.startsWith("ff")) return undefined;
  if (value.length > 55 && (value.startsWith("00") || value.charCodeAt(55) !== DASH)) return undefined;
  return {
    traceId: value.slice(3, 35),
    spanId: value.slice(36, 52),
    flags: Number.parseInt(value.slice(53, 55), 16),
  };
}

/** Formats a version-00 traceparent header value. */
export function formatTraceparent(context: TraceContext): string {
  const flags = context.flags & 0xff;
  return `00-${context.traceId}-${context.spanId}-${flags < 16 ? "0" : ""}${flags.toString(16)}`;
}

export function isSampled(flags: number): boolean {
  return (flags & SAMPLED) !== 0;
}

// Ids come from a pool of random bytes refilled 4 KiB at a time, not a system call per id.
// node:crypto (~2 MB of RSS) is loaded at the first id, not at start: a queue-proxy may sit idle.
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      process.getBuiltinModule("node:crypto").randomFillSync(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    for (let i = start; i < poolOffset; i++) {
      if (pool[i] !== 0) return pool.toString("hex", start, poolOffset);
    }
  }
}

/** A random trace id: 32 lowercase hex digits, never all zero. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A random span id: 16 lowercase hex digits, never all zero. */
export function newSpanId(): string {
  return randomHex(8);
}
