import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, sendPlain } from "../common/http/respond.ts";
import type { Logger } from "../common/log.ts";
import { formatEvent, writeOrDrop } from "../common/sse.ts";
import type { DataPlaneState, RevisionState, ServiceState, StateEvent } from "../common/state.ts";

const HEARTBEAT_MS = 15_000;

export interface StatePublisherOptions {
  /** Watches beyond this many are refused with 503 (AUTOSCALER_MAX_STATE_WATCHERS). */
  maxWatchers?: number;
  /**
   * A watcher may be behind by its snapshot plus this many bytes of changes; beyond that it is
   * dropped: reconnecting resyncs it from a fresh snapshot, which is cheaper than a longer backlog.
   */
  maxBacklogBytes?: number;
  log?: Logger;
}

/** Entries of `next` whose JSON differs from `seen` (null = removed); updates `seen`. */
function changes<T>(next: Record<string, T>, seen: Map<string, string>): [string, T | null][] {
  const changed: [string, T | null][] = [];
  for (const [key, value] of Object.entries(next)) {
    const json = JSON.stringify(value);
    if (seen.get(key) === json) continue;
    seen.set(key, json);
    changed.push([key, value]);
  }
  for (const key of [...seen.keys()]) {
    if (key in next) continue;
    seen.delete(key);
    changed.push([key, null]);
  }
  return changed;
}

/**
 * Holds the published state and streams it: GET /v1/state answers the snapshot, ?watch=1 sends the
 * snapshot and then one event per changed service or revision. Changes are found by comparing each
 * entry's JSON, so publishers can simply hand over the whole new state.
 */
export class StatePublisher {
  #state: DataPlaneState;
  readonly #serviceJson = new Map<string, string>();
  readonly #revisionJson = new Map<string, string>();
  /** Each watcher and how many unsent bytes it may have before it is dropped. */
  readonly #watchers = new Map<ServerResponse, number>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #maxWatchers: number;
  readonly #maxBacklogBytes: number;
  readonly #log: Logger | undefined;

  constructor(
    domain: string,
    { maxWatchers = 256, maxBacklogBytes = 1 << 20, log }: StatePublisherOptions = {},
  ) {
    this.#state = { generation: 0, domain, services: {}, revisions: {} };
    this.#maxWatchers = maxWatchers;
    this.#maxBacklogBytes = maxBacklogBytes;
    this.#log = log;
    this.#heartbeat = setInterval(() => this.#send(": heartbeat\n\n"), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  #send(chunk: string): void {
    for (const [watcher, limit] of this.#watchers) {
      if (writeOrDrop(watcher, chunk, limit)) continue;
      this.#watchers.delete(watcher);
      this.#log?.warn({ unsentBytes: watcher.writableLength }, "dropped a state watcher that does not read");
    }
  }

  get state(): DataPlaneState {
    return this.#state;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /**
   * Publishes a new whole state; only what changed goes out to watchers, ordered so that every
   * prefix is consistent: new revisions first, then services (which may now point at them), then
   * removed revisions. Returns the number of changes.
   */
  publish(services: Record<string, ServiceState>, revisions: Record<string, RevisionState>): number {
    let generation = this.#state.generation;
    const revisionChanges = changes(revisions, this.#revisionJson);
    const serviceChanges = changes(services, this.#serviceJson);
    const events: StateEvent[] = [];
    for (const [key, revision] of revisionChanges) {
      if (revision) events.push({ type: "revision", generation: ++generation, key, revision });
    }
    for (const [key, service] of serviceChanges)
      events.push({ type: "service", generation: ++generation, key, service });
    for (const [key, revision] of revisionChanges) {
      if (!revision) events.push({ type: "revision", generation: ++generation, key, revision: null });
    }
    if (events.length === 0) return 0;
    this.#state = { generation, domain: this.#state.domain, services, revisions };
    this.#send(events.map((event) => formatEvent(event.type, event, generation)).join(""));
    return events.length;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const watch = new URL(req.url ?? "/", "http://x").searchParams.get("watch");
    if (watch !== "1" && watch !== "true") {
      sendJson(res, 200, this.#state);
      return;
    }
    if (this.#watchers.size >= this.#maxWatchers) {
      sendPlain(
        res,
        503,
        `autoscaler: too many state watchers (${this.#maxWatchers}, AUTOSCALER_MAX_STATE_WATCHERS); retry later`,
        { "retry-after": "5" },
      );
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    const snapshot = formatEvent(
      "snapshot",
      { type: "snapshot", state: this.#state },
      this.#state.generation,
    );
    res.write(snapshot);
    this.#watchers.set(res, Buffer.byteLength(snapshot) + this.#maxBacklogBytes);
    res.once("close", () => this.#watchers.delete(res));
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const watcher of this.#watchers.keys()) watcher.end();
    this.#watchers.clear();
  }
}
