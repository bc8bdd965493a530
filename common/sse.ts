/** Server-Sent Events framing (the subset we use: event, id, single-line JSON data). */

export function formatEvent(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface ParsedEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits a byte stream into events; feed it chunks, it returns the complete events so far. */
export class SseParser {
  #buffer = "";

  push(chunk: string): ParsedEvent[] {
    this.#buffer += chunk;
    const events: ParsedEvent[] = [];
    let end = this.#buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const parsed: ParsedEvent = { event: "message", data: "" };
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // comment (heartbeat)
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") parsed.event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") parsed.id = value;
      }
      if (data.length > 0) {
        parsed.data = data.join("\n");
        events.push(parsed);
      }
      end = this.#buffer.indexOf("\n\n");
    }
    return events;
  }
}

/**
 * Writes to a long-lived stream unless its reader has fallen behind: when more than
 * `maxUnsentBytes` of earlier writes are still unsent, the stream is destroyed instead of growing
 * a buffer the client may never read. (A reader that keeps up always gets the chunk, however
 * large.) Returns whether the chunk was written.
 */
export function writeOrDrop(
  res: { writableLength: number; write(chunk: string): boolean; destroy(): void },
  chunk: string,
  maxUnsentBytes: number,
): boolean {
  if (res.writableLength > maxUnsentBytes) {
    res.destroy();
    return false;
  }
  res.write(chunk);
  return true;
}
