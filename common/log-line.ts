// pino's line format for the simplest calls, without pino: `log.info("text")` and
// `log.info({ flat: "fields" }, "text")` with string, number, boolean or null values. The deferred
// logger (log.ts) writes these itself until a call needs pino (an Error, a nested object, format
// arguments), so that a process that logs only such lines never loads pino (~3 MB of RSS).
// test/common/log.test.ts holds each against pino's own output for the same call.

/** pino's level numbers. */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LevelName = keyof typeof LEVELS;

/**
 * One value as pino writes it; undefined to leave the key out, null when pino is needed for it (a
 * function too: pino would take an object with a setHeader method for a response).
 */
function value(v: unknown): string | undefined | null {
  switch (typeof v) {
    case "undefined":
      return undefined;
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return String(v);
    case "string":
      // pino leaves a lone surrogate unescaped where JSON.stringify escapes it.
      return v.isWellFormed() ? JSON.stringify(v) : null;
    default:
      return v === null ? "null" : null;
  }
}

/**
 * `,"key":value` for each own field, as pino writes bindings and a call's fields; undefined when a
 * value is one only pino writes (an object, an Error, a lone surrogate).
 */
export function fields(object: object): string | undefined {
  if (Object.getPrototypeOf(object) !== Object.prototype) return undefined;
  let out = "";
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const v = value((object as Record<string, unknown>)[key]);
    if (v === null || !key.isWellFormed()) return undefined;
    if (v !== undefined) out += `,${JSON.stringify(key)}:${v}`;
  }
  return out;
}

/**
 * The line pino would write for a call with `args` at `level`, with `bindings` (the output of
 * fields() for the logger's base and its children's bindings); undefined when the call is not one
 * of the simple forms.
 */
export function simpleLine(
  level: number,
  time: number,
  bindings: string,
  args: readonly unknown[],
): string | undefined {
  let call = "";
  let msg: unknown;
  if (args.length === 1 && typeof args[0] === "string") msg = args[0];
  else if (
    args.length === 2 &&
    typeof args[0] === "object" &&
    args[0] !== null &&
    typeof args[1] === "string"
  ) {
    const object = args[0];
    // A `msg` or `err` field changes what pino writes for the message.
    if ("msg" in object || "err" in object) return undefined;
    const written = fields(object);
    if (written === undefined) return undefined;
    call = written;
    msg = args[1];
  } else return undefined;
  const message = value(msg);
  if (message === null || message === undefined) return undefined;
  return `{"level":${level},"time":${time}${bindings}${call},"msg":${message}}\n`;
}
