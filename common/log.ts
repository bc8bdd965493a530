import pino, { type Logger } from "pino";

export type { Logger };

/** One JSON line per event; LOG_LEVEL picks the level (default info). */
export function createLogger(component: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name: component, level, base: { component, pid: process.pid } });
}
