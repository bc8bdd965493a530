import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";

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
        const res = await request(url, { dispatcher });
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
