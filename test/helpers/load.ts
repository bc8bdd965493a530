// Steady, bounded load for fault tests: `concurrency` loops of undici requests against one URL and
// Host, until stopped or a bound on requests or time; every request's outcome is kept.
import { Agent, request } from "undici";

export interface Outcome {
  /** ms since the load started */
  start: number;
  end: number;
  status: number;
  /** Sluice-Revision of the answer */
  revision: string | undefined;
  retryAfter: string | undefined;
  body: string;
  /** a transport error (the connection failed or was cut) */
  error: string | undefined;
}

export interface LoadOptions {
  url: string;
  host: string;
  path?: string;
  concurrency: number;
  /** Hard bounds, whatever the test does. */
  maxRequests?: number;
  maxDurationMs?: number;
}

export interface Load {
  /** ms since the load started */
  now(): number;
  outcomes: Outcome[];
  /** Stops issuing requests and resolves when every loop's last request is done. */
  stop(): Promise<Outcome[]>;
  /** Changes the number of loops (down: loops finish their request and end). */
  setConcurrency(n: number): void;
}

/** Starts `concurrency` request loops at once. */
export function startLoad(options: LoadOptions): Load {
  const { url, host, path = "/", maxRequests = 50_000, maxDurationMs = 30_000 } = options;
  const started = performance.now();
  const now = () => performance.now() - started;
  const dispatcher = new Agent({
    connections: null,
    pipelining: 1,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const outcomes: Outcome[] = [];
  let stopped = false;
  let sent = 0;
  let target = options.concurrency;
  const loops: Promise<void>[] = [];
  const loop = async (index: number) => {
    while (!stopped && index < target && sent < maxRequests && now() < maxDurationMs) {
      sent++;
      const start = now();
      try {
        const res = await request(`${url}${path}`, { dispatcher, headers: { host } });
        const body = await res.body.text();
        const header = (name: string) => {
          const value = res.headers[name];
          return Array.isArray(value) ? value[0] : value;
        };
        outcomes.push({
          start,
          end: now(),
          status: res.statusCode,
          revision: header("sluice-revision"),
          retryAfter: header("retry-after"),
          body: body.slice(0, 200),
          error: undefined,
        });
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).message;
        outcomes.push({
          start,
          end: now(),
          status: 0,
          revision: undefined,
          retryAfter: undefined,
          body: "",
          error: code,
        });
      }
    }
  };
  const grow = (from: number, to: number) => {
    for (let i = from; i < to; i++) loops.push(loop(i));
  };
  grow(0, target);
  return {
    now,
    outcomes,
    setConcurrency(n) {
      const before = target;
      target = n;
      if (n > before) grow(before, n);
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      await dispatcher.close();
      return outcomes;
    },
  };
}

export interface LoadFigures {
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Requests sent, answered 200, failed (anything else), status counts and latency percentiles. */
export function figures(outcomes: Outcome[]): LoadFigures {
  const latencies = outcomes.map((o) => o.end - o.start).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const statuses: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.error ?? String(o.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const ok = outcomes.filter((o) => o.status === 200).length;
  return {
    sent: outcomes.length,
    ok,
    failed: outcomes.length - ok,
    statuses,
    p50Ms: Math.round(at(0.5)),
    p99Ms: Math.round(at(0.99)),
    maxMs: Math.round(latencies.at(-1) ?? 0),
  };
}

/** One line for t.comment. */
export function describe(name: string, f: LoadFigures, extra = ""): string {
  return `${name}: sent ${f.sent}, ok ${f.ok}, failed ${f.failed} ${JSON.stringify(f.statuses)}, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms${extra ? `, ${extra}` : ""}`;
}
