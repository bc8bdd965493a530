/**
 * What the activator pushes to the autoscaler (POST /v1/stats) every second while it holds or
 * forwards requests, and at once for a revision at zero (a poke).
 */
export interface ActivatorStats {
  /** Which activator sent it (several may run). */
  activator: string;
  revisions: ActivatorRevisionStats[];
}

export interface ActivatorRevisionStats {
  /** The revision's namespace and name: names are unique within a namespace only. */
  namespace: string;
  revision: string;
  /** Time-weighted average of requests held or in flight through the activator since the last push. */
  averageConcurrency: number;
  /** Requests that arrived since the last push. */
  requestCount: number;
  /** A request arrived for a revision with no ready pod: scale it up now, not at the next tick. */
  poke?: boolean;
  windowSeconds: number;
}

/** Checks a pushed body, naming the first problem; returns the typed value. */
export function parseActivatorStats(body: unknown): ActivatorStats | string {
  if (typeof body !== "object" || body === null) return "body: expected a JSON object";
  const { activator, revisions } = body as Record<string, unknown>;
  if (typeof activator !== "string" || activator === "") return "activator: expected a non-empty string";
  if (!Array.isArray(revisions)) return "revisions: expected an array";
  for (const [index, entry] of revisions.entries()) {
    const at = `revisions[${index}]`;
    if (typeof entry !== "object" || entry === null) return `${at}: expected an object`;
    const { namespace, revision, averageConcurrency, requestCount, windowSeconds, poke } = entry as Record<
      string,
      unknown
    >;
    if (typeof namespace !== "string" || namespace === "") return `${at}.namespace: expected a namespace`;
    if (typeof revision !== "string" || revision === "") return `${at}.revision: expected a revision name`;
    for (const [name, value] of Object.entries({ averageConcurrency, requestCount, windowSeconds })) {
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
        return `${at}.${name}: expected a number >= 0`;
    }
    if (poke !== undefined && typeof poke !== "boolean") return `${at}.poke: expected true or false`;
  }
  return body as ActivatorStats;
}
