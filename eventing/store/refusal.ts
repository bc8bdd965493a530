// Why the store did not take an event, as the Broker ingress tells the producer: always a 503
// with Retry-After (seconds) — the event may be fine, the store cannot take it now —, never the
// 400 of a bad event or the 413 of a too-large one. Pure: an error in, a refusal out.

export type RefusalReason = "unavailable" | "full" | "timeout";

export interface StoreRefusal {
  reason: RefusalReason;
  /** Said to the producer after "the event was not stored: ". */
  message: string;
  /** Retry-After, in seconds. */
  retryAfterSeconds: number;
}

/** The NATS client tries to reconnect every 2 s (its reconnectTimeWait). */
const UNAVAILABLE_RETRY_SECONDS = 2;
/** Space comes back as Triggers deliver (interest retention), which takes longer than a reconnect. */
const FULL_RETRY_SECONDS = 10;

/** JetStream's err_codes for a store or stream that has no room (nats-server's errors.json). */
const NO_ROOM: Record<number, string> = {
  10023: "JetStream's storage is full (insufficient resources)",
  10047: "JetStream's storage is full (insufficient storage resources)",
  10077: "the Broker's stream holds its maximum number of events",
  10078: "the Broker's stream holds its maximum number of bytes",
};

/** Thrown by BrokerStore.publish when it knows before trying: the connection to NATS is down. */
export class StoreUnavailable extends Error {
  constructor(natsUrl: string) {
    super(`NATS at ${natsUrl} is unavailable (reconnecting)`);
    this.name = "StoreUnavailable";
  }
}

/**
 * Thrown for a Broker whose stream (or a Trigger's consumer) is gone from JetStream — a NATS
 * restarted without its store, a stream deleted by hand — while repair.ts recreates it.
 */
export class StreamMissing extends Error {
  constructor(namespace: string, broker: string, detail?: string) {
    super(`stream for broker ${namespace}/${broker} missing; recreating${detail ? ` (${detail})` : ""}`);
    this.name = "StreamMissing";
  }
}

/** What to tell the producer for an error of BrokerStore.publish. */
export function storeRefusal(error: unknown): StoreRefusal {
  const e = error as {
    name?: string;
    message?: string;
    code?: unknown;
    apiError?: () => { err_code?: number };
  };
  const message = e?.message ?? String(error);
  if (e?.name === "StoreUnavailable" || e?.name === "StreamMissing")
    return { reason: "unavailable", message, retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS };
  const errCode = typeof e?.apiError === "function" ? e.apiError().err_code : undefined;
  if (errCode !== undefined && NO_ROOM[errCode] !== undefined)
    return { reason: "full", message: NO_ROOM[errCode], retryAfterSeconds: FULL_RETRY_SECONDS };
  if (/insufficient (storage )?resources|maximum (messages|bytes) exceeded/i.test(message))
    return {
      reason: "full",
      message: `the store is full (${message})`,
      retryAfterSeconds: FULL_RETRY_SECONDS,
    };
  if (e?.name === "TimeoutError" || /timeout/i.test(message))
    // The publish may have reached JetStream after all: a retry of the same event (source + id)
    // within the 2-minute de-duplication window is not stored twice.
    return {
      reason: "timeout",
      message: "JetStream did not acknowledge it in time",
      retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS,
    };
  if (e?.name === "NoRespondersError" || /no responders/i.test(message))
    return {
      reason: "unavailable",
      message: "JetStream did not answer (no responders: is the server running with -js?)",
      retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS,
    };
  return { reason: "unavailable", message, retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS };
}
