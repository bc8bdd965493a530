import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import type { Target } from "./compare.ts";
import { type BenchOptions, roundSeconds } from "./options.ts";
import { median } from "./stats.ts";
import { fixed } from "./table.ts";

export interface PacedResult {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/**
 * Latency below saturation: `clients` keep-alive clients, each sending one request at a time on a
 * fixed schedule so the total rate is `ratePerSecond`. Unlike a closed loop at full speed, this
 * measures the hop's own latency rather than CPU queueing on a 2-core machine.
 */
export async function pacedLatency(
  url: string,
  clients: number,
  ratePerSecond: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<PacedResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load only goes to 127.0.0.1, not ${url}`);
  const dispatcher = new Agent({ connections: clients, pipelining: 1 });
  const intervalMs = (1000 * clients) / ratePerSecond;
  const perClient = Math.max(1, Math.floor((seconds * 1000) / intervalMs));
  const samples: number[] = [];
  let errors = 0;
  const client = async (index: number) => {
    const start = performance.now() + (index * intervalMs) / clients; // stagger the clients
    for (let i = 0; i < perClient; i++) {
      const due = start + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sent = performance.now();
      try {
        const res = await request(url, { dispatcher, headers });
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
        samples.push(performance.now() - sent);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, index) => client(index)));
  await dispatcher.close();
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { requests: samples.length, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

export const PACED_CLIENTS = 8;
export const PACED_RATE = 1000;

export type Paced = Record<string, { p50Ms: number; p99Ms: number; errors: number }>;

/**
 * Added latency of each hop below saturation (8 clients, 1,000 req/s in all): a closed loop at
 * full speed measures CPU queueing on a 2-core machine more than the hop itself. Targets take
 * turns over the same number of rounds as the load runs; each reports its median round.
 */
export async function pacedReport(targets: Target[], options: BenchOptions): Promise<Paced> {
  const seconds = Math.max(2, roundSeconds(options));
  console.log(
    `\npaced latency: ${PACED_CLIENTS} clients, ${PACED_RATE} req/s in all, median of ${options.rounds} rounds of ${seconds} s`,
  );
  // Warm the measuring client (JIT, connections) first, or the first target pays for it.
  for (const target of targets) await pacedLatency(target.url, PACED_CLIENTS, PACED_RATE, 1, target.headers);
  const rounds = new Map(
    targets.map((target) => [target.name, [] as Awaited<ReturnType<typeof pacedLatency>>[]]),
  );
  for (let round = 0; round < options.rounds; round++)
    for (const target of targets)
      rounds
        .get(target.name)
        ?.push(await pacedLatency(target.url, PACED_CLIENTS, PACED_RATE, seconds, target.headers));
  const paced: Paced = {};
  for (const target of targets) {
    const runs = rounds.get(target.name) ?? [];
    const result = {
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
    };
    paced[target.name] = result;
    const added =
      paced.direct && target.name !== "direct"
        ? `  +p50 ${fixed(result.p50Ms - paced.direct.p50Ms, 3)} ms  +p99 ${fixed(result.p99Ms - paced.direct.p99Ms, 3)} ms`
        : "";
    console.log(
      `  ${target.name.padEnd(15)} p50 ${fixed(result.p50Ms, 3)} ms  p99 ${fixed(result.p99Ms, 3)} ms${added}  (${result.errors} errors)`,
    );
  }
  return paced;
}
