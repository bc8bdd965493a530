import { closeSync, type FSWatcher, ftruncateSync, openSync, readSync, watch } from "node:fs";
import { StringDecoder } from "node:string_decoder";

/** Reads a backup poll this often, in case a file-change notification is missed. */
const POLL_MS = 1000;
const CHUNK_BYTES = 64 * 1024;

/**
 * Follows a file another process appends to (a pod's stdout or stderr: a file, not a pipe, so the
 * pod outlives the platform), passing each new piece of text on. Past `maxBytes` the file is
 * truncated after reading, so a chatty pod does not fill the disk; the writer must have opened it
 * for appending, so its next write lands at the new end.
 */
export class FileFollower {
  readonly #path: string;
  readonly #onText: (text: string) => void;
  readonly #maxBytes: number;
  readonly #decoder = new StringDecoder("utf8");
  readonly #buffer = Buffer.alloc(CHUNK_BYTES);
  #fd: number | undefined;
  #offset = 0;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string, onText: (text: string) => void, { maxBytes = 16 * 1024 * 1024 } = {}) {
    this.#path = path;
    this.#onText = onText;
    this.#maxBytes = maxBytes;
  }

  /** Reads what is there and follows what comes. */
  start(): void {
    this.read();
    try {
      this.#watcher = watch(this.#path, { persistent: false }, () => this.read());
      this.#watcher.on("error", () => this.#watcher?.close());
    } catch {
      // No notifications (file gone, no inotify): the poll still reads.
    }
    this.#timer = setInterval(() => this.read(), POLL_MS);
    this.#timer.unref();
  }

  /** Reads everything appended since the last read. */
  read(): void {
    if (this.#fd === undefined) {
      try {
        this.#fd = openSync(this.#path, "r+");
      } catch {
        return;
      }
    }
    try {
      for (;;) {
        const count = readSync(this.#fd, this.#buffer, 0, CHUNK_BYTES, this.#offset);
        if (count === 0) break;
        this.#offset += count;
        this.#onText(this.#decoder.write(this.#buffer.subarray(0, count)));
      }
      if (this.#offset > this.#maxBytes) {
        ftruncateSync(this.#fd, 0);
        this.#offset = 0;
      }
    } catch {
      // The file went away under us: nothing more to read.
    }
  }

  /** Reads what is left and stops following. */
  close(): void {
    this.read();
    this.#watcher?.close();
    clearInterval(this.#timer);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    const rest = this.#decoder.end();
    if (rest !== "") this.#onText(rest);
  }
}
