import { revisionKey } from "../../common/state.ts";
import type { LogFilter, LogLine } from "../platform.ts";

export interface PodLogLimits {
  /** Lines kept per pod (the oldest go first). */
  linesPerPod: number;
  /** Pods that have exited whose lines are still kept, per revision (the most recent ones). */
  exitedPodsPerRevision: number;
  /** Longer lines are cut here (characters). */
  maxLineLength: number;
}

export const DEFAULT_POD_LOG_LIMITS: PodLogLimits = {
  linesPerPod: 1000,
  exitedPodsPerRevision: 5,
  maxLineLength: 8192,
};

interface PodIdentity {
  namespace: string;
  service: string;
  revision: string;
  pod: string;
}

/** One pod's app output: split into lines per stream, the last `linesPerPod` kept in a ring. */
export class PodOutput {
  readonly identity: PodIdentity;
  exited = false;
  readonly #ring: (LogLine | undefined)[];
  #next = 0;
  #count = 0;
  readonly #partial = { stdout: "", stderr: "" };
  readonly #hub: PodLogs;
  readonly #maxLineLength: number;

  constructor(identity: PodIdentity, hub: PodLogs, limits: PodLogLimits) {
    this.identity = identity;
    this.#hub = hub;
    this.#ring = new Array(limits.linesPerPod);
    this.#maxLineLength = limits.maxLineLength;
  }

  write(stream: "stdout" | "stderr", chunk: Buffer | string): void {
    const lines = (this.#partial[stream] + chunk.toString()).split("\n");
    this.#partial[stream] = lines.pop() ?? "";
    // A line that never ends is still bounded: cut it and keep reading.
    if (this.#partial[stream].length > this.#maxLineLength) {
      lines.push(this.#partial[stream]);
      this.#partial[stream] = "";
    }
    for (const line of lines) this.#add(stream, line);
  }

  /** The process has exited: what is left of an unfinished line becomes a line. */
  end(): void {
    if (this.exited) return;
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#partial[stream] !== "") this.#add(stream, this.#partial[stream]);
      this.#partial[stream] = "";
    }
    this.exited = true;
    this.#hub.exited(this);
  }

  /** The kept lines, oldest first. */
  lines(): LogLine[] {
    const out: LogLine[] = [];
    const size = this.#ring.length;
    for (let i = 0; i < this.#count; i++) {
      out.push(this.#ring[(this.#next - this.#count + i + size) % size] as LogLine);
    }
    return out;
  }

  /** The last `count` lines as text, unfinished ones included: why a pod failed to start. */
  lastText(count: number): string[] {
    const texts = this.lines().map((line) => line.text);
    for (const stream of ["stdout", "stderr"] as const)
      if (this.#partial[stream] !== "") texts.push(this.#partial[stream]);
    return texts.slice(-count);
  }

  #add(stream: "stdout" | "stderr", raw: string): void {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const line = this.#hub.record({
      ...this.identity,
      stream,
      text: text.length > this.#maxLineLength ? `${text.slice(0, this.#maxLineLength)}…` : text,
    });
    this.#ring[this.#next] = line;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count = Math.min(this.#count + 1, this.#ring.length);
  }
}

/**
 * The local platform's pod output, for `sluice logs`: a bounded buffer per pod (live pods, and
 * the last few that exited in each revision), and listeners that see every new line.
 */
export class PodLogs {
  readonly #limits: PodLogLimits;
  /** revisionKey → its pods' output, oldest pod first. */
  readonly #byRevision = new Map<string, PodOutput[]>();
  readonly #listeners = new Set<(line: LogLine) => void>();
  #seq = 0;

  constructor(limits: Partial<PodLogLimits> = {}) {
    this.#limits = { ...DEFAULT_POD_LOG_LIMITS, ...limits };
  }

  /** The output buffer of a new pod. */
  open(identity: PodIdentity): PodOutput {
    const output = new PodOutput(identity, this, this.#limits);
    const key = revisionKey(identity.namespace, identity.revision);
    const pods = this.#byRevision.get(key) ?? [];
    pods.push(output);
    this.#byRevision.set(key, pods);
    return output;
  }

  /** Forgets a deleted revision's output (by revisionKey). */
  forget(key: string): void {
    this.#byRevision.delete(key);
  }

  recent(filter: LogFilter): LogLine[] {
    const lines: LogLine[] = [];
    for (const pods of this.#byRevision.values()) {
      for (const output of pods) if (matches(output.identity, filter)) lines.push(...output.lines());
    }
    return lines.sort((a, b) => a.seq - b.seq);
  }

  subscribe(listener: (line: LogLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal PodOutput's: numbers a line and tells the listeners. */
  record(fields: Omit<LogLine, "seq" | "time">): LogLine {
    const line: LogLine = { seq: ++this.#seq, time: Date.now(), ...fields };
    for (const listener of this.#listeners) listener(line);
    return line;
  }

  /** @internal PodOutput's: drops the oldest exited pods of the revision beyond the limit. */
  exited(output: PodOutput): void {
    const key = revisionKey(output.identity.namespace, output.identity.revision);
    const pods = this.#byRevision.get(key);
    if (!pods) return;
    let extra = pods.filter((pod) => pod.exited).length - this.#limits.exitedPodsPerRevision;
    if (extra <= 0) return;
    this.#byRevision.set(
      key,
      pods.filter((pod) => !(pod.exited && extra-- > 0)),
    );
  }
}

function matches(identity: PodIdentity, filter: LogFilter): boolean {
  return (
    (filter.namespace === undefined || filter.namespace === identity.namespace) &&
    (filter.service === undefined || filter.service === identity.service) &&
    (filter.revision === undefined || filter.revision === identity.revision)
  );
}
