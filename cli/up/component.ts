import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { spawnChild } from "../../platform/local/spawn-child.ts";

/** A data-plane process started by `sluice up`. */
export interface Component {
  name: string;
  child: ChildProcess;
  /** The ports it reported over IPC ({type: "listening", ...}). */
  ports: Record<string, number>;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<string>;
  /** Its last output lines, for the message when it fails. */
  lastLines(): string[];
}

const KEEP_LINES = 20;

export interface ComponentSpec {
  name: string;
  /** The entry point's absolute path. */
  entry: string;
  /** Added to this process's environment. */
  env: Record<string, string>;
  onLine: (line: string) => void;
  /** Called at once with the process, so that a caller can kill it before it is listening. */
  onSpawn?: (child: ChildProcess) => void;
  timeoutMs?: number;
}

/**
 * Starts `node <entry>` as its own process (dying with this one, even on SIGKILL), passes every
 * output line to `onLine`, and resolves once it reports that it is listening. Rejects with its
 * last output if it exits first.
 */
export function startComponent({
  name,
  entry,
  env,
  onLine,
  onSpawn,
  timeoutMs = 30_000,
}: ComponentSpec): Promise<Component> {
  const child = spawnChild(process.execPath, [entry], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  onSpawn?.(child);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      onLine(line);
    });
  }
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? String(code))),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on("message", (message: { type?: string } & Record<string, unknown>) => {
      if (message?.type !== "listening") return;
      clearTimeout(timer);
      const ports = Object.fromEntries(
        Object.entries(message).filter((entry): entry is [string, number] => typeof entry[1] === "number"),
      );
      resolve({ name, child, ports, exited, lastLines: () => [...lines] });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new StartError(name, code, [...lines]));
    });
  });
}

/** A component that exited before it was listening: its own last words say why. */
export class StartError extends Error {
  /** The exit code, or the signal that ended it. */
  readonly code: string;
  readonly lines: string[];
  constructor(name: string, code: string, lines: string[]) {
    super(`${name} exited (${code}) before it was listening`);
    this.code = code;
    this.lines = lines;
  }
}

/** The message of a JSON log line, or the line itself. */
export function messageOf(line: string): string {
  try {
    const record = JSON.parse(line) as { msg?: unknown };
    return typeof record.msg === "string" ? record.msg : line;
  } catch {
    return line;
  }
}

/** The lines of a component's output that give a reason (an error, what it cannot or expected). */
export function reasonLines(lines: readonly string[]): string[] {
  return lines.filter((line) => /error|cannot|invalid|expected/i.test(line));
}

/** What a dead component's output says about why: its error lines if any, else its last lines. */
export function lastWords(lines: string[], keep = 5): string[] {
  const reasons = reasonLines(lines);
  return (reasons.length > 0 ? reasons : lines).slice(-keep).map(messageOf);
}
