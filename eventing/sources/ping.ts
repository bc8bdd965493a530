import { randomUUID } from "node:crypto";
import { Cron } from "croner";
import type { Logger } from "../../common/log.ts";
import type { StoredEvent } from "../cloudevent/event.ts";
import type { DeliveryPolicy } from "../resources/compile.ts";
import type { PingSourceRuntime } from "../resources/compile-sources.ts";
import { deliverToSink, type SinkOptions } from "./sink.ts";

// A PingSource: on every tick of its cron schedule (croner, in the source's time zone), one
// event to the sink, as Knative's ping adapter makes it:
//   type dev.knative.sources.ping, source /apis/v1/namespaces/{ns}/pingsources/{name},
//   id a fresh UUID, time the tick's scheduled time, data and datacontenttype from the spec.
// Ticks missed while the process was down are not sent later (Knative does not either); a tick
// whose delivery fails is retried per PING_DELIVERY, and a slow delivery never stops the next
// tick (croner's protect is off: each tick is its own event). A tick `mayTick` refuses (a
// replica that no longer holds the sources' Lease) is not sent.

export const PING_EVENT_TYPE = "dev.knative.sources.ping";

/** PingSource has no delivery spec: a few retries within a few seconds, then the tick is dropped. */
export const PING_DELIVERY: DeliveryPolicy = {
  retry: 5,
  backoffPolicy: "exponential",
  backoffDelayMs: 200,
  timeoutMs: undefined,
  deadLetterSink: undefined,
};

export function pingEvent(
  source: PingSourceRuntime,
  scheduled: Date,
  id: string = randomUUID(),
): StoredEvent {
  const attributes: Record<string, string> = {
    specversion: "1.0",
    id,
    type: PING_EVENT_TYPE,
    source: `/apis/v1/namespaces/${source.namespace}/pingsources/${source.name}`,
    time: scheduled.toISOString(),
  };
  if (source.contentType !== undefined) attributes.datacontenttype = source.contentType;
  return { attributes, data: source.data };
}

/**
 * The time a tick fired at `firedAt` stands for: `predicted`, the next run asked for at the
 * previous tick (or at the start), so a tick fired late keeps its scheduled time. croner fires a
 * tick only at or after its time, so a prediction later than the firing is wrong: croner chose the
 * first tick in its constructor, and the start's prediction, asked a moment later with a second
 * boundary in between, named the tick after it (which would then go out twice under one time).
 * Such a tick fired on time, at its whole second: schedules are second-grained.
 */
export function tickTime(predicted: Date | null, firedAt: Date): Date {
  if (predicted !== null && predicted.getTime() <= firedAt.getTime()) return predicted;
  return new Date(Math.floor(firedAt.getTime() / 1000) * 1000);
}

export class PingSourceRunner {
  readonly #source: PingSourceRuntime;
  readonly #sink: SinkOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  #job: Cron | undefined;

  readonly #mayTick: () => boolean;

  constructor(
    source: PingSourceRuntime,
    options: { sink: SinkOptions; log: Logger; mayTick?: () => boolean },
  ) {
    this.#source = source;
    this.#sink = options.sink;
    this.#log = options.log.child({ source: `PingSource ${source.namespace}/${source.name}` });
    this.#mayTick = options.mayTick ?? (() => true);
  }

  start(): void {
    const { pattern, timezone } = this.#source.schedule;
    // The time a tick stands for is the one it was scheduled at, not when its timer fired (a
    // busy process fires late): kept from the previous tick's nextRun() (tickTime).
    let scheduledAt: Date | null = null;
    this.#job = new Cron(pattern, { timezone }, (job: Cron) => {
      const scheduled = tickTime(scheduledAt, new Date());
      scheduledAt = job.nextRun();
      if (!this.#mayTick()) {
        this.#log.debug({ time: scheduled.toISOString() }, "tick not sent: not leading");
        return;
      }
      const delivery = deliverToSink(
        this.#source,
        pingEvent(this.#source, scheduled),
        PING_DELIVERY,
        this.#sink,
        this.#abort.signal,
      );
      this.#inFlight.add(delivery);
      void delivery.finally(() => this.#inFlight.delete(delivery));
    });
    scheduledAt = this.#job.nextRun();
    this.#log.info({ schedule: pattern, timezone, next: scheduledAt?.toISOString() }, "scheduled");
  }

  async stop(): Promise<void> {
    this.#job?.stop();
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }
}
