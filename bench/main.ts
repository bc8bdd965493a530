// npm run bench [-- <scenario…>] [options]: with no scenario, issue 13's whole comparison in one
// run: the app direct and nginx one hop in front of it, the router alone, the queue-proxy alone,
// router → queue-proxy, router → activator → queue-proxy, each on the node:http and raw data paths,
// the bare Node forwarder, the queue-proxy's start and the cold burst. Scenario families are files
// beside this one (references, queue-proxy, router, serve, proxy, startup, burst); the activator
// and autoscaler benchmarks stand alone. Each file is imported only when asked for, so one whose
// component is mid-change cannot break the others.
import { type BenchOptions, OPTIONS_USAGE, parseBenchArgs, UsageError } from "./lib/options.ts";
import type { Scenario } from "./lib/scenario.ts";

/** Families of the data-path comparison: their targets join one interleaved run. */
const FAMILIES: Record<string, { load: () => Promise<Scenario>; about: string }> = {
  "queue-proxy": {
    load: async () => (await import("./queue-proxy.ts")).queueProxy,
    about: "the queue-proxy alone in front of the app",
  },
  router: {
    load: async () => (await import("./router.ts")).router,
    about: "the router alone, serve mode straight to the app (one hop, as nginx)",
  },
  serve: {
    load: async () => (await import("./serve.ts")).serve,
    about: "router → queue-proxy → app (serve mode)",
  },
  proxy: {
    load: async () => (await import("./proxy.ts")).proxy,
    about: "router → activator → queue-proxy → app (proxy mode)",
  },
  floor: {
    load: async () => (await import("./references.ts")).floor,
    about:
      "the floors: the bare node:http + undici forwarder, the raw path with nothing of the router, llhttp with none of sluice's code, and two of those chained",
  },
  "router-10k": {
    load: async () => (await import("./router.ts")).routerMany,
    about: "router → queue-proxy with 10,000 more services in the router's table",
  },
};

/** Parts of the same run that are not load comparisons. */
const PARTS = {
  startup: "the queue-proxy's start: ms to listening, CPU to get there, idle RSS",
  burst: "the cold burst of 300 requests at zero (bench/cold-burst.ts)",
};

/** Benchmarks that run on their own, after the comparison. */
const STANDALONE: Record<
  string,
  { load: () => Promise<(options: BenchOptions) => Promise<void>>; about: string }
> = {
  activator: {
    load: async () => (await import("./activator.ts")).benchActivator,
    about: "cold starts, a 1,000-request cold burst, memory with 10,000 waiting, warm CPU/request",
  },
  autoscaler: {
    load: async () => (await import("./autoscaler.ts")).benchAutoscaler,
    about: "KPA decider for 1,000 revisions, scrape loop over 200 pods, memory at 1,000 revisions",
  },
  danmaku: {
    load: async () => (await import("./danmaku.ts")).benchDanmaku,
    about: "examples/danmaku loaded: comments/s, moderate's peak pods, back to zero (Kafka, nats-server)",
  },
  eventing: {
    load: async () => (await import("./eventing.ts")).benchEventing,
    about:
      "events/s Kafka → KafkaSource and Broker → Trigger vs direct; RSS with 100,000 queued (needs Kafka, nats-server)",
  },
};

const PRESETS: Record<string, { names: string[]; about: string }> = {
  all: {
    names: ["queue-proxy", "router", "serve", "proxy", "floor", "startup", "burst"],
    about: "the default: every family but router-10k, the start and the burst (about 13 min)",
  },
  quick: {
    names: ["queue-proxy", "router", "serve", "proxy", "startup"],
    about: "the comparison and the start with short rounds (--duration 2 --rounds 2 --warmup 1)",
  },
};

const list = (entries: [string, string][]) =>
  entries.map(([name, about]) => `  ${name.padEnd(12)}  ${about}`).join("\n");

const USAGE = `usage: npm run bench -- [scenario…] [options]

With no scenario, "all". The app direct and nginx one hop are in every comparison: ratios are to
nginx. Sluice's processes run once per data path (--paths); rows are labelled [node] or [raw].

presets:
${list(Object.entries(PRESETS).map(([name, { about }]) => [name, about]))}
scenario families (measured together, in interleaved rounds):
${list(Object.entries(FAMILIES).map(([name, { about }]) => [name, about]))}
${list(Object.entries(PARTS))}
standalone benchmarks:
${list(Object.entries(STANDALONE).map(([name, { about }]) => [name, about]))}

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
const known = new Set([...Object.keys(FAMILIES), ...Object.keys(PARTS), ...Object.keys(STANDALONE)]);
const asked = args.names.length === 0 ? ["all"] : args.names;
const names = new Set(asked.flatMap((name) => PRESETS[name]?.names ?? [name]));
for (const name of names)
  if (!known.has(name))
    usageError(`unknown scenario "${name}" (known: ${[...Object.keys(PRESETS), ...known].join(", ")})`);

const families = await Promise.all(
  Object.keys(FAMILIES)
    .filter((name) => names.has(name))
    .map((name) => FAMILIES[name].load()),
);
if (families.length > 0 || names.has("startup") || names.has("burst")) {
  const { runSuite } = await import("./lib/suite.ts");
  console.log(`\n== ${asked.join(" ")} ==`);
  await runSuite(
    { families, startup: names.has("startup"), burst: names.has("burst") },
    args.options,
    asked.join("+"),
  );
}
for (const name of Object.keys(STANDALONE).filter((name) => names.has(name))) {
  console.log(`\n== ${name} ==`);
  const run = await STANDALONE[name].load();
  await run(args.options);
}
process.exit(0); // children and keep-alive sockets must not keep the harness alive
