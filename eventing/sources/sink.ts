import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import type { Logger } from "../../common/log.ts";
import { describeEvent, type StoredEvent } from "../cloudevent/event.ts";
import { afterFailure } from "../dispatcher/backoff.ts";
import { deadLetterEvent } from "../dispatcher/dead-letter.ts";
import { type SendResult, sendEvent } from "../dispatcher/send-event.ts";
import type { DeliveryPolicy, Target } from "../resources/compile.ts";
import { traceSource } from "../tracing.ts";
import type { SourceMetrics, SourceOutcome } from "./source-metrics.ts";

// Every source's way to its sink: binary-mode POST (the dispatcher's sendEvent, so a Service
// sink goes through the router with its Host and wakes at zero), the source's ceOverrides
// extensions set, only a 2xx counted as delivered. Failed attempts are retried per the source's
// delivery policy, then dead-lettered or dropped; with no policy, retried until the sink takes
// the event (what lets KafkaSource commit an offset only after delivery). Only failures a retry
// may cure are retried (send-event.ts, Knative's rule): any other status is dead-lettered or
// dropped at once, so the source moves on (a KafkaSource commits past that record). A reply
// event from the sink is not forwarded anywhere: Knative's sources drop it too.

export interface SinkSource {
  kind: string;
  namespace: string;
  name: string;
  sink: Target;
  extensions: Record<string, string>;
}

export interface SinkOptions {
  agent: Dispatcher;
  timeoutMs: number;
  metrics: SourceMetrics;
  log: Logger;
}

/** The wait between attempts when the policy is "until delivered": 0.2 s doubling, 30 s at most. */
export const UNTIL_DELIVERED_MAX_MS = 30_000;
const UNTIL_DELIVERED_FIRST_MS = 200;

export function untilDeliveredDelay(attempt: number): number {
  return Math.min(UNTIL_DELIVERED_FIRST_MS * 2 ** (attempt - 1), UNTIL_DELIVERED_MAX_MS);
}

/** The event as the sink gets it: the source's overrides on top (they win, as in Knative). */
export function withOverrides(event: StoredEvent, extensions: Record<string, string>): StoredEvent {
  if (Object.keys(extensions).length === 0) return event;
  return { attributes: { ...event.attributes, ...extensions }, data: event.data };
}

/**
 * Sends `event` to the source's sink until it is delivered, dead-lettered or dropped; "aborted"
 * when `signal` fires first (shutting down: the event was not delivered).
 */
export async function deliverToSink(
  source: SinkSource,
  original: StoredEvent,
  policy: DeliveryPolicy | undefined,
  options: SinkOptions,
  signal?: AbortSignal,
): Promise<SourceOutcome | "aborted"> {
  // A trace per event when tracing is on (tracing.ts): the source's span, the attempts its children.
  const trace = traceSource(source, original);
  if (trace === undefined) return deliver(source, original, policy, options, signal);
  const outcome = await deliver(source, trace.event, policy, options, signal);
  trace.end(outcome);
  return outcome;
}

async function deliver(
  source: SinkSource,
  original: StoredEvent,
  policy: DeliveryPolicy | undefined,
  options: SinkOptions,
  signal?: AbortSignal,
): Promise<SourceOutcome | "aborted"> {
  const { metrics, log } = options;
  const event = withOverrides(original, source.extensions);
  const count = (outcome: SourceOutcome) =>
    metrics.event(source.kind, source.namespace, source.name, outcome);
  const timeoutMs = policy?.timeoutMs ?? options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) return "aborted";
    const result = await send(source.sink, event, options, timeoutMs);
    if (result.ok) {
      count("delivered");
      return "delivered";
    }
    // A status no retry can change (a 400, say) gives up at once, policy or not: a KafkaSource
    // would otherwise hold its partition on that record for good.
    const next = !result.retryable
      ? "give-up"
      : policy === undefined
        ? { retryInMs: untilDeliveredDelay(attempt) }
        : afterFailure(policy, attempt);
    if (next === "give-up") {
      if (!policy?.deadLetterSink) {
        count("dropped");
        log.warn(
          {
            source: `${source.kind} ${source.namespace}/${source.name}`,
            attempts: attempt,
            ...describeEvent(event),
            ...failure(result),
          },
          result.retryable
            ? "delivery to the sink failed; no dead-letter sink: event dropped"
            : "the sink refused the event (not to be retried); no dead-letter sink: event dropped",
        );
        return "dropped";
      }
      const letter = deadLetterEvent(event, {
        status: result.ok ? undefined : result.status,
        error: result.ok ? undefined : result.error,
        body: result.ok ? undefined : result.body,
        destination: source.sink.url,
      });
      // The dead-letter sink is tried until it takes the event: it is the last place it can go.
      for (let dl = 1; ; dl++) {
        if (signal?.aborted) return "aborted";
        const sent = await send(policy.deadLetterSink, letter, options, timeoutMs);
        if (sent.ok) {
          count("dead_lettered");
          return "dead_lettered";
        }
        log.error(
          { sink: policy.deadLetterSink.describe, ...failure(sent) },
          "dead-letter sink failed; trying again",
        );
        if (!(await wait(untilDeliveredDelay(dl), signal))) return "aborted";
      }
    }
    const waitMs = next.retryInMs;
    count("retried");
    log.debug(
      {
        source: `${source.kind} ${source.namespace}/${source.name}`,
        attempt,
        retryInMs: waitMs,
        ...failure(result),
      },
      "delivery to the sink failed; retrying",
    );
    if (!(await wait(waitMs, signal))) return "aborted";
  }
}

/** A sink's reply is read and dropped; a bigger one fails the attempt (sendEvent's rule). */
const REPLY_LIMIT_BYTES = 4 * 1024 * 1024;

function send(
  target: Target,
  event: StoredEvent,
  options: SinkOptions,
  timeoutMs: number,
): Promise<SendResult> {
  return sendEvent(target, event, { agent: options.agent, timeoutMs, maxReplyBytes: REPLY_LIMIT_BYTES });
}

/** False when aborted while waiting. */
async function wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function failure(result: SendResult): { status?: number; error?: string } {
  return result.ok ? {} : { status: result.status, error: result.error };
}
