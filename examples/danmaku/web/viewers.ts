// The viewers' Server-Sent Events streams, and the approved comments sent to all of them. A
// comment comes at least once (the Broker redelivers what it is not sure was delivered), so
// recently seen ids are remembered and a repeat is not sent again. A viewer too slow to read
// is disconnected rather than buffered without bound (its EventSource reconnects).
import type { ServerResponse } from "node:http";

const HEARTBEAT_MS = 15_000;
const MAX_UNSENT_BYTES = 256 * 1024;
const REMEMBERED_IDS = 10_000;

export class Viewers {
  readonly #streams = new Set<ServerResponse>();
  readonly #seen = new Set<string>();
  readonly #heartbeat = setInterval(() => this.#write(": heartbeat\n\n"), HEARTBEAT_MS).unref();

  get count(): number {
    return this.#streams.size;
  }

  /** Turns a response into a viewer's stream until the viewer leaves. */
  add(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    });
    // retry: how soon EventSource reconnects; the comment line gets the headers on their way.
    res.write("retry: 1000\n: connected\n\n");
    this.#streams.add(res);
    res.on("close", () => this.#streams.delete(res));
  }

  /** Sends an approved comment to everyone; false when its id was sent already. */
  broadcast(id: string, data: unknown): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > REMEMBERED_IDS) this.#seen.delete(this.#seen.values().next().value as string);
    this.#write(`event: comment\ndata: ${JSON.stringify(data)}\n\n`);
    return true;
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const res of this.#streams) res.end();
  }

  #write(chunk: string): void {
    for (const res of this.#streams) {
      if (res.writableLength > MAX_UNSENT_BYTES) res.destroy();
      else res.write(chunk);
    }
  }
}
