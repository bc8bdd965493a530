import { request } from "undici";
import type { ActivatorRevisionStats, ActivatorStats } from "../common/activator-stats.ts";
import { bearerHeaders } from "../common/api-token.ts";
import { ConcurrencyStats } from "../common/concurrency-stats.ts";
import type { Logger } from "../common/log.ts";
import { splitRevisionKey } from "../common/state.ts";

/** Minimum time between two pokes for the same revision. */
const POKE_EVERY_MS = 500;

/**
 * The activator's view of each revision's load (requests waiting or in flight through it), pushed
 * to the autoscaler every interval while there is any, and at once as a poke when a request
 * arrives for a revision without a ready pod. Revisions are known by revisionKey(namespace, name).
 */
export class StatsReporter {
  readonly #stats = new Map<string, ConcurrencyStats>();
  readonly #lastPoke = new Map<string, number>();
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
  }

  /** A request arrived for a revision with no ready pod: tell the autoscaler now. */
  poke(key: string): void {
    const now = Date.now();
    if (now - (this.#lastPoke.get(key) ?? 0) < POKE_EVERY_MS) return;
    this.#lastPoke.set(key, now);
    const stats = this.statsFor(key);
    const { namespace, name } = splitRevisionKey(key);
    void this.#send([
      {
        namespace,
        revision: name,
        averageConcurrency: Math.max(1, stats.concurrency),
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
