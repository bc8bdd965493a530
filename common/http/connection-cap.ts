import type { Server as NetServer } from "node:net";
import type { Logger } from "../log.ts";

/** A burst ends after this long without a refused connection. */
const BURST_QUIET_MS = 10_000;

/**
 * Groups refused connections into bursts so that a flood makes one log line, not one per
 * connection: `refuse` says whether this refusal starts a new burst, and how many the previous
 * burst refused in all.
 */
export class RefusalBursts {
  readonly #quietMs: number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #count = 0;

  constructor(quietMs = BURST_QUIET_MS) {
    this.#quietMs = quietMs;
  }

  refuse(now: number): { startsBurst: boolean; previousBurst: number } {
    const startsBurst = now - this.#lastAt >= this.#quietMs;
    const previousBurst = startsBurst ? this.#count : 0;
    if (startsBurst) this.#count = 0;
    this.#count++;
    this.#lastAt = now;
    return { startsBurst, previousBurst };
  }
}

/**
 * Caps the connections `server` keeps open at once. node refuses the extra ones before any byte
 * is read (they see the connection close), so the connections already open keep being served.
 */
export function capConnections(server: NetServer, max: number, log: Logger, listener: string): void {
  if (max <= 0) return;
  server.maxConnections = max;
  const bursts = new RefusalBursts();
  server.on("drop", () => {
    const { startsBurst, previousBurst } = bursts.refuse(Date.now());
    if (!startsBurst) return;
    log.warn(
      { listener, maxConnections: max, previousBurst },
      `${listener}: connection limit reached (${max} open); refusing new connections`,
    );
  });
}
