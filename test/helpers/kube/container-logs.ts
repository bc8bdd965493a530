// A container's output as the kubelet keeps it for `kubectl logs`: timestamped lines per container
// instance (the current one, and the one before it for `previous`), with followers told of each
// new line and of the instance's end. Kept in memory: test containers live for seconds.
import { EventEmitter } from "node:events";
import type { Readable } from "node:stream";

export interface LogLine {
  time: Date;
  stream: "stdout" | "stderr";
  /** Without its newline. */
  text: string;
}

export interface LogInstance {
  lines: LogLine[];
  ended: boolean;
  events: EventEmitter<{ line: [LogLine]; end: [] }>;
}

/** Lines kept per instance; older ones are dropped, as log rotation would. */
const MAX_LINES = 50_000;

export class ContainerLog {
  readonly instances: LogInstance[] = [];

  /** Starts a new instance's log from a process's output; it ends when both streams close. */
  attach(stdout: Readable | null, stderr: Readable | null): void {
    const instance: LogInstance = { lines: [], ended: false, events: new EventEmitter() };
    instance.events.setMaxListeners(0);
    this.instances.push(instance);
    // Only the last two instances are ever asked for.
    if (this.instances.length > 2) this.instances.splice(0, this.instances.length - 2);
    const push = (stream: LogLine["stream"], text: string) => {
      const line = { time: new Date(), stream, text };
      instance.lines.push(line);
      if (instance.lines.length > MAX_LINES) instance.lines.shift();
      instance.events.emit("line", line);
    };
    let open = 0;
    for (const [name, readable] of [
      ["stdout", stdout],
      ["stderr", stderr],
    ] as const) {
      if (!readable) continue;
      open++;
      let partial = "";
      readable.setEncoding("utf8");
      readable.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        for (const text of parts) push(name, text);
      });
      readable.once("close", () => {
        if (partial) push(name, partial);
        if (--open === 0) {
          instance.ended = true;
          instance.events.emit("end");
        }
      });
    }
    if (open === 0) instance.ended = true;
  }

  /** The latest instance (running or not), or the one before it. */
  instance(previous = false): LogInstance | undefined {
    return this.instances.at(previous ? -2 : -1);
  }
}
