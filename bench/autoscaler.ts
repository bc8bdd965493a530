// npm run bench -- autoscaler: the decider for 1,000 revisions per tick, the scrape loop over 200
// pods on loopback, and the controller's memory with 1,000 revisions.
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { KNATIVE_DEFAULT_KPA, KpaDecider } from "../autoscaler/kpa.ts";
import { scrapeAll } from "../autoscaler/scraper.ts";
import { forkAndWait } from "./lib/children.ts";
import type { BenchOptions } from "./lib/options.ts";
import { saveResults } from "./lib/results.ts";
import { fixed } from "./lib/table.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const max = (values: number[]) => Math.max(...values);

function deciderCost(revisions: number, ticks: number): number[] {
  const deciders = Array.from({ length: revisions }, () => new KpaDecider(KNATIVE_DEFAULT_KPA));
  for (let second = 0; second < 60; second++) {
    for (const [i, decider] of deciders.entries()) decider.record(second * 1000, (i % 50) + second);
  }
  const costs: number[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    const now = (60 + tick) * 1000;
    const start = performance.now();
    for (const [i, decider] of deciders.entries()) {
      decider.record(now, i % 50);
      decider.decide(now, 3);
    }
    costs.push(performance.now() - start);
  }
  return costs;
}

export async function benchAutoscaler(options: BenchOptions): Promise<void> {
  const decider = deciderCost(1000, 200);
  console.log(
    `decider, 1,000 revisions per tick: median ${fixed(median(decider), 3)} ms, max ${fixed(max(decider), 3)} ms (200 ticks)`,
  );

  const pods = await forkAndWait(here("apps/fake-pods.ts"), { POD_COUNT: "200" });
  const targets = (pods.message.ports as number[]).map((port, i) => ({
    revisionKey: `default/rev-${i % 10}`,
    pod: `pod-${i}`,
    adminUrl: `http://127.0.0.1:${port}`,
  }));
  const dispatcher = new Agent({ connections: 1 });
  const rounds: number[] = [];
  let failures = 0;
  const roundsToRun = Math.max(10, Math.round(options.seconds * 2));
  for (let round = 0; round < roundsToRun; round++) {
    const start = performance.now();
    const results = await scrapeAll(targets, { timeoutMs: 1000, dispatcher });
    rounds.push(performance.now() - start);
    failures += results.filter((r) => "error" in r).length;
  }
  await dispatcher.close();
  await pods.stop();
  console.log(
    `scrape loop, 200 pods on loopback: median ${fixed(median(rounds), 1)} ms, max ${fixed(max(rounds), 1)} ms per round, ${failures} failures (${roundsToRun} rounds, first includes connecting)`,
  );

  const controller = await forkAndWait(here("apps/controller-memory.ts"), { REVISIONS: "1000" });
  const m = controller.message as {
    applyMs: number;
    tickMs: number[];
    before: { rssMb: number; heapMb: number };
    after: { rssMb: number; heapMb: number };
  };
  await controller.stop();
  console.log(
    `controller with 1,000 revisions: apply ${fixed(m.applyMs, 0)} ms; tick median ${fixed(median(m.tickMs), 1)} ms; ` +
      `RSS ${fixed(m.before.rssMb, 0)} → ${fixed(m.after.rssMb, 0)} MB, heap ${fixed(m.before.heapMb, 0)} → ${fixed(m.after.heapMb, 0)} MB`,
  );
  console.log(`\nresults: ${saveResults("autoscaler", { decider, rounds, controller: m })}`);
}
