import { request } from "undici";
import type { ActivatorRevisionStats, ActivatorStats } from "../common/activator-stats.ts";
import { bearerHeaders } from "../common/api-token.ts";
import { ConcurrencyStats } from "../common/concurrency-stats.ts";
import type { Logger } from "../common/log.ts";
import { splitRevisionKey } from "../common/state.ts";

/** Minimum time between two pokes for the same revision at the same demand. */
const POKE_EVERY_MS = 500;
/**
 * A burst reaches the activator over tens of ms, so the first request's poke says 1. Requests
 * that arrive after a poke send one more this long after it, with the demand then (if it grew):
 * the autoscaler sizes the scale-up from the queue at once instead of a second later.
 */
const POKE_FOLLOW_UP_MS = 100;

/**
 * The activator's view of each revision's load (requests waiting or in flight through it), pushed
 * to the autoscaler every interval while there is any, and at once as a poke when a request
 * arrives for a revision without a ready pod. Revisions are known by revisionKey(namespace, name).
 */
export class StatsReporter {
  readonly #stats = new Map<string, ConcurrencyStats>();
  /** The last poke per revision: when, the demand it said, and a follow-up poke waiting to go. */
  readonly #lastPoke = new Map<string, { at: number; demand: number; followUp?: NodeJS.Timeout }>();
  readonly #url: string;
  readonly #name: string;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(autoscalerUrl: string, name: string, log: Logger) {
    this.#url = `${autoscalerUrl}/v1/stats`;
    this.#name = name;
    this.#log = log;
  }

  /** Revisions with stats kept (a removed revision's go with forget()). */
  get size(): number {
    return this.#stats.size;
  }

  /** The revision left the state: stop reporting it and drop what was kept for it. */
  forget(key: string): void {
    this.#stats.delete(key);
    clearTimeout(this.#lastPoke.get(key)?.followUp);
    this.#lastPoke.delete(key);
  }

  statsFor(key: string): ConcurrencyStats {
    let stats = this.#stats.get(key);
    if (!stats) {
      stats = new ConcurrencyStats(Date.now());
      this.#stats.set(key, stats);
    }
    return stats;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.#push(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const last of this.#lastPoke.values()) clearTimeout(last.followUp);
  }

  /**
   * A request arrived for a revision with no ready pod: tell the autoscaler now, with the demand
   * (requests held or in flight, this one included). Within POKE_EVERY_MS of the last poke, one
   * follow-up goes POKE_FOLLOW_UP_MS after it if the demand has grown by then.
   */
  poke(key: string): void {
    const now = Date.now();
    const last = this.#lastPoke.get(key);
    if (last === undefined || now - last.at >= POKE_EVERY_MS) {
      clearTimeout(last?.followUp);
      this.#sendPoke(key, now);
      return;
    }
    if (last.followUp !== undefined) return;
    last.followUp = setTimeout(
      () => {
        last.followUp = undefined;
        if (this.#lastPoke.get(key) !== last) return; // forgotten, or poked again since
        if (this.#demand(key) > last.demand) this.#sendPoke(key, Date.now());
      },
      Math.max(0, last.at + POKE_FOLLOW_UP_MS - now),
    );
    last.followUp.unref();
  }

  /** Requests of the revision held or in flight here, counting one arriving now. */
  #demand(key: string): number {
    return Math.max(1, this.statsFor(key).concurrency);
  }

  #sendPoke(key: string, now: number): void {
    const demand = this.#demand(key);
    this.#lastPoke.set(key, { at: now, demand });
    const { namespace, name } = splitRevisionKey(key);
    void this.#send([
      {
        namespace,
        revision: name,
        averageConcurrency: demand,
        requestCount: 1,
        windowSeconds: 0,
        poke: true,
      },
    ]);
  }

  async #push(): Promise<void> {
    const now = Date.now();
    const revisions: ActivatorRevisionStats[] = [];
    for (const [key, stats] of this.#stats) {
      const window = stats.read(now);
      if (window.averageConcurrency === 0 && window.requestCount === 0 && stats.concurrency === 0) continue;
      const { namespace, name } = splitRevisionKey(key);
      revisions.push({
        namespace,
        revision: name,
        averageConcurrency: window.averageConcurrency,
        requestCount: window.requestCount,
        windowSeconds: window.windowSeconds,
      });
    }
    if (revisions.length > 0) await this.#send(revisions);
  }

  async #send(revisions: ActivatorRevisionStats[]): Promise<void> {
    const body: ActivatorStats = { activator: this.#name, revisions };
    try {
      const res = await request(this.#url, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", ...bearerHeaders() },
        headersTimeout: 2000,
        bodyTimeout: 2000,
      });
      await res.body.dump();
      if (res.statusCode !== 200) this.#log.warn({ status: res.statusCode }, "autoscaler refused stats");
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "cannot push stats to the autoscaler");
    }
  }
}
