import type { StoredEvent } from "../cloudevent/event.ts";

// What a dead-letter sink receives: the event as it was, plus Knative's error extensions, so
// whoever reads the dead letters sees where delivery failed and what the subscriber said.

/** Knative sends at most this much of the subscriber's response body (knativeerrordata). */
export const ERROR_DATA_BYTES = 1024;

export interface DeliveryFailure {
  /** The subscriber's status, when it answered at all. */
  status?: number;
  /** Why it failed, for a failure without a status (refused, reset, timed out). */
  error?: string;
  /** The URL the event was sent to. */
  destination: string;
  /** The start of the subscriber's response body. */
  body?: Uint8Array;
}

export function deadLetterEvent(event: StoredEvent, failure: DeliveryFailure): StoredEvent {
  const attributes: Record<string, string> = { ...event.attributes, knativeerrordest: failure.destination };
  if (failure.status !== undefined) attributes.knativeerrorcode = String(failure.status);
  const data =
    failure.body && failure.body.length > 0
      ? failure.body
      : failure.error
        ? Buffer.from(failure.error)
        : undefined;
  if (data) attributes.knativeerrordata = Buffer.from(data.subarray(0, ERROR_DATA_BYTES)).toString("base64");
  return { attributes, data: event.data };
}
