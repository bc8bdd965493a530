// npm run bench -- <name…> [options]: load benchmarks, each comparing sluice with references
// (the app direct, a bare Node forwarder, nginx where installed) in one run.
import { parseArgs } from "node:util";
import { benchActivator } from "./activator.ts";
import { benchAutoscaler } from "./autoscaler.ts";
import { pickLoadTool } from "./lib/load.ts";
import { benchQueueProxy } from "./queue-proxy.ts";

const BENCHMARKS: Record<string, (options: Parameters<typeof benchQueueProxy>[0]) => Promise<void>> = {
  "queue-proxy": benchQueueProxy,
  autoscaler: benchAutoscaler,
  activator: benchActivator,
};

const USAGE = `usage: npm run bench -- <benchmark…> [options]

benchmarks:
  queue-proxy       app direct vs queue-proxy vs bare undici forwarder vs nginx
  autoscaler        KPA decider for 1,000 revisions, scrape loop over 200 pods, memory at 1,000 revisions
  activator         cold starts, a 1,000-request cold burst, memory with 10,000 waiting, warm CPU/request

options:
  --duration S      seconds of measured load per run (default 10)
  --warmup S        seconds of warm-up before each run (default 2)
  --connections L   comma-separated client counts (default 8,64)
  --load TOOL       wrk or autocannon (default: wrk when installed; it measures µs)
  -h, --help        this text

Load only goes to 127.0.0.1, bounded by --duration. Results are also written to bench/results/.`;

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      connections: { type: "string", default: "8,64" },
      load: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seconds = Number(values.duration);
const warmupSeconds = Number(values.warmup);
const connections = String(values.connections).split(",").map(Number);
if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300)
  fail(`--duration ${values.duration}: expected 1 to 300 seconds`);
if (!Number.isFinite(warmupSeconds) || warmupSeconds < 0 || warmupSeconds > 60)
  fail(`--warmup ${values.warmup}: expected 0 to 60 seconds`);
if (connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1000))
  fail(`--connections ${values.connections}: expected numbers from 1 to 1000`);
if (positionals.length === 0) fail("name at least one benchmark");
for (const name of positionals) if (!BENCHMARKS[name]) fail(`unknown benchmark ${name}`);

let load: ReturnType<typeof pickLoadTool>;
try {
  load = pickLoadTool(values.load as string | undefined);
} catch (error) {
  fail((error as Error).message);
}
for (const name of positionals) {
  console.log(`\n== ${name} ==`);
  await BENCHMARKS[name]({ seconds, warmupSeconds, connections, load });
}
process.exit(0);
