import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "../common/http/respond.ts";
import { formatEvent } from "../common/sse.ts";
import type { DataPlaneState, RevisionState, ServiceState, StateEvent } from "../common/state.ts";

const HEARTBEAT_MS = 15_000;

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
  readonly #watchers = new Set<ServerResponse>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(domain: string) {
    this.#state = { generation: 0, domain, services: {}, revisions: {} };
    this.#heartbeat = setInterval(() => {
      for (const watcher of this.#watchers) watcher.write(": heartbeat\n\n");
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
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
    for (const [name, revision] of revisionChanges) {
      if (revision) events.push({ type: "revision", generation: ++generation, name, revision });
    }
    for (const [key, service] of serviceChanges)
      events.push({ type: "service", generation: ++generation, key, service });
    for (const [name, revision] of revisionChanges) {
      if (!revision) events.push({ type: "revision", generation: ++generation, name, revision: null });
    }
    if (events.length === 0) return 0;
    this.#state = { generation, domain: this.#state.domain, services, revisions };
    const payload = events.map((event) => formatEvent(event.type, event, generation)).join("");
    for (const watcher of this.#watchers) watcher.write(payload);
    return events.length;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const watch = new URL(req.url ?? "/", "http://x").searchParams.get("watch");
    if (watch !== "1" && watch !== "true") {
      sendJson(res, 200, this.#state);
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    res.write(formatEvent("snapshot", { type: "snapshot", state: this.#state }, this.#state.generation));
    this.#watchers.add(res);
    res.once("close", () => this.#watchers.delete(res));
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const watcher of this.#watchers) watcher.end();
    this.#watchers.clear();
  }
}
