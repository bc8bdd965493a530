// What `sluice up` knows of each component it supervises, typed so that it can be sent as is
// (the status page will show restarts).

export type ComponentState = "running" | "restarting" | "failed" | "stopped";

export interface ComponentExit {
  /** The exit code, or the signal that ended it ("SIGKILL"). */
  code: string;
  /** When it exited (ISO 8601). */
  at: string;
  /** How long that run lasted, in ms. */
  ranForMs: number;
  /** Its last output lines (log messages). */
  lastLines: string[];
}

export interface ComponentStatus {
  name: "autoscaler" | "activator" | "router" | (string & {});
  state: ComponentState;
  /** The running process, if any. */
  pid: number | undefined;
  /** The ports it listens on (the same on every restart). */
  ports: Record<string, number>;
  /** Restarts since `sluice up` started it. */
  restarts: number;
  /** When the current (or last) run started (ISO 8601). */
  startedAt: string;
  lastExit: ComponentExit | undefined;
}
