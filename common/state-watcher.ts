import { bearerHeaders, tokenFromEnv } from "./api-token.ts";
import { readText, streamGet } from "./http/stream-get.ts";
import type { Logger } from "./log.ts";
import { SseParser } from "./sse.ts";
import { applyEvent, type DataPlaneState, type StateEvent } from "./state.ts";

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

export interface StateWatcherOptions {
  /** The autoscaler's base URL, e.g. http://127.0.0.1:8090. */
  autoscalerUrl: string;
  log: Logger;
  /** Called with every new state (whole, consistent snapshots). */
  onState: (state: DataPlaneState) => void;
  /** The autoscaler API's bearer token; default SLUICE_TOKEN from the environment. */
  token?: string;
}

/**
 * Follows the autoscaler's state watch. When the autoscaler goes away, the last state stays in
 * force (static stability) and the watcher reconnects with backoff, resyncing from a fresh snapshot.
 */
export class StateWatcher {
  readonly #options: StateWatcherOptions;
  readonly #headers: Record<string, string>;
  #state: DataPlaneState | undefined;
  #stopped = false;
  #abort: AbortController | undefined;
  #retryMs = MIN_RETRY_MS;
  #timer: NodeJS.Timeout | undefined;
  connected = false;

  constructor(options: StateWatcherOptions) {
    this.#options = options;
    this.#headers = bearerHeaders(options.token ?? tokenFromEnv());
  }

  get state(): DataPlaneState | undefined {
    return this.#state;
  }

  start(): void {
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#abort = new AbortController();
    try {
      // node:http, not undici: a router has no other use for undici (common/http/stream-get.ts).
      // No timeout: an idle watch is normal; heartbeats come every 15 s.
      const res = await streamGet(`${this.#options.autoscalerUrl}/v1/state?watch=1`, {
        signal: this.#abort.signal,
        headers: this.#headers,
      });
      if (res.statusCode !== 200) {
        const text = (await readText(res)).trim().slice(0, 200);
        throw new Error(`state watch answered ${res.statusCode}: ${text}`);
      }
      this.connected = true;
      this.#retryMs = MIN_RETRY_MS;
      const parser = new SseParser();
      res.setEncoding("utf8");
      for await (const chunk of res) {
        let next = this.#state;
        for (const event of parser.push(chunk as string)) {
          const parsed = JSON.parse(event.data) as StateEvent;
          if (parsed.type !== "snapshot" && next === undefined) continue; // changes before a snapshot
          next =
            next === undefined
              ? applyEvent({ generation: 0, domain: "", services: {}, revisions: {} }, parsed)
              : applyEvent(next, parsed);
        }
        if (next !== this.#state && next !== undefined) {
          this.#state = next;
          this.#options.onState(next);
        }
      }
      throw new Error("state watch ended");
    } catch (error) {
      this.connected = false;
      if (this.#stopped) return;
      this.#options.log.warn(
        { err: (error as Error).message, retryMs: this.#retryMs, generation: this.#state?.generation },
        "state watch lost; keeping the last state and reconnecting",
      );
      this.#timer = setTimeout(() => void this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    }
  }
}
