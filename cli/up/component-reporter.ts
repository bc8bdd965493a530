import { request } from "undici";
import type { ComponentStatus } from "../../common/status.ts";

export interface ComponentReporterOptions {
  /** The autoscaler's base URL. */
  autoscalerUrl: string;
  /** The report as of now, read when a push goes out (so the latest always wins). */
  components: () => ComponentStatus[];
  /** Sent with every push (the bearer token). */
  headers?: Record<string, string>;
  /** Changes within this long of the first are sent as one push. */
  coalesceMs?: number;
  /** After a push the autoscaler did not take (unreachable, 5xx), the next try. */
  retryMs?: number;
  timeoutMs?: number;
}

/**
 * Keeps the autoscaler told of the processes `sluice up` supervises (PUT /v1/components), for
 * the status page. `changed()` only schedules: supervision never waits for the autoscaler, which
 * may be the very component that is down. A push it cannot take is tried again quietly, and a
 * restarted autoscaler (whose report died with its predecessor) is sent the report that counts
 * its own restart, as its restart is itself a change.
 */
export class ComponentReporter {
  readonly #options: Required<ComponentReporterOptions>;
  #timer: NodeJS.Timeout | undefined;
  #pushing = false;
  /** A change arrived while a push was out: push again when it is done. */
  #again = false;
  #closed = false;

  constructor(options: ComponentReporterOptions) {
    this.#options = { headers: {}, coalesceMs: 100, retryMs: 1000, timeoutMs: 2000, ...options };
  }

  /** Something in the report changed: push it soon. */
  changed(): void {
    this.#schedule(this.#options.coalesceMs);
  }

  /** No more pushes (sluice up is stopping). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#push();
    }, delayMs);
    this.#timer.unref();
  }

  async #push(): Promise<void> {
    if (this.#pushing) {
      this.#again = true;
      return;
    }
    this.#pushing = true;
    this.#again = false;
    const taken = await this.#send();
    this.#pushing = false;
    if (this.#again) this.#schedule(0);
    else if (!taken) this.#schedule(this.#options.retryMs);
  }

  /** Whether the push is done with: taken, or refused (4xx: trying again would not help). */
  async #send(): Promise<boolean> {
    try {
      const res = await request(`${this.#options.autoscalerUrl}/v1/components`, {
        method: "PUT",
        headers: { "content-type": "application/json", ...this.#options.headers },
        body: JSON.stringify({ components: this.#options.components() }),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await res.body.dump();
      return res.statusCode < 500;
    } catch {
      return false;
    }
  }
}
