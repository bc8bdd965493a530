// npm run bench -- <name…> [options]: load benchmarks, each comparing sluice with references
// (the app direct, a bare Node forwarder, nginx where installed) in one run. A benchmark is one
// file beside this one exporting `(options) => Promise<void>`; add it to BENCHMARKS. Each is
// imported only when asked for, so one whose component is mid-change cannot break the others.
import { type BenchOptions, OPTIONS_USAGE, parseBenchArgs, UsageError } from "./lib/options.ts";

type Benchmark = (options: BenchOptions) => Promise<void>;

const BENCHMARKS: Record<string, { load: () => Promise<Benchmark>; about: string }> = {
  "queue-proxy": {
    load: async () => (await import("./queue-proxy.ts")).benchQueueProxy,
    about: "app direct vs bare undici forwarder vs queue-proxy vs nginx: req/s, latency, CPU/req, RSS",
  },
  activator: {
    load: async () => (await import("./activator.ts")).benchActivator,
    about: "cold starts, a 1,000-request cold burst, memory with 10,000 waiting, warm CPU/request",
  },
  router: {
    load: async () => (await import("./router.ts")).benchRouter,
    about:
      "router → queue-proxy, router → activator, 10,000 services vs 1, against direct, bare forwarder, nginx",
  },
  autoscaler: {
    load: async () => (await import("./autoscaler.ts")).benchAutoscaler,
    about: "KPA decider for 1,000 revisions, scrape loop over 200 pods, memory at 1,000 revisions",
  },
};

const USAGE = `usage: npm run bench -- <benchmark…> [options]

benchmarks:
${Object.entries(BENCHMARKS)
  .map(([name, { about }]) => `  ${name.padEnd(16)}  ${about}`)
  .join("\n")}

${OPTIONS_USAGE}

Load only goes to 127.0.0.1 and every run is bounded in time. Results are also written as JSON
to bench/results/.`;

function usageError(message: string): never {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let args: ReturnType<typeof parseBenchArgs>;
try {
  args = parseBenchArgs(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) usageError(error.message);
  throw error;
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.names.length === 0) usageError("name at least one benchmark");
for (const name of args.names)
  if (!Object.hasOwn(BENCHMARKS, name))
    usageError(`unknown benchmark "${name}" (known: ${Object.keys(BENCHMARKS).join(", ")})`);

for (const name of args.names) {
  console.log(`\n== ${name} ==`);
  const run = await BENCHMARKS[name].load();
  await run(args.options);
}
process.exit(0); // children and keep-alive sockets must not keep the harness alive
