// A source's state as its runner last saw it, for GET /v1/eventing, `sluice status`, the status
// page and, on Kubernetes, the source's Ready condition: running, or failing with the reason and
// since when. Without it a KafkaSource on a missing topic or an unreachable broker only logged.

export type SourceState =
  | { state: "starting"; since: string }
  | { state: "running"; since: string }
  | { state: "failing"; reason: string; since: string };

export class SourceHealth {
  #current: SourceState;
  readonly #onChange: () => void;

  constructor(onChange: () => void = () => {}, now = new Date()) {
    this.#current = { state: "starting", since: now.toISOString() };
    this.#onChange = onChange;
  }

  get current(): SourceState {
    return this.#current;
  }

  running(now = new Date()): void {
    if (this.#current.state === "running") return;
    this.#current = { state: "running", since: now.toISOString() };
    this.#onChange();
  }

  /** `since` stays the first failure's while the source keeps failing, whatever the reason. */
  failing(reason: string, now = new Date()): void {
    const was = this.#current;
    if (was.state === "failing" && was.reason === reason) return;
    this.#current = {
      state: "failing",
      reason,
      since: was.state === "failing" ? was.since : now.toISOString(),
    };
    this.#onChange();
  }
}

/** An error's message with its causes and aggregated errors (a client's retries), once each. */
export function errorReason(error: unknown): string {
  const messages: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (depth > 4 || e === undefined || e === null) return;
    const { message, cause, errors } = e as { message?: string; cause?: unknown; errors?: unknown[] };
    const text = message ?? String(e);
    if (text && !messages.includes(text)) messages.push(text);
    if (Array.isArray(errors)) for (const inner of errors.slice(0, 3)) visit(inner, depth + 1);
    visit(cause, depth + 1);
  };
  visit(error, 0);
  return messages.join(": ");
}
