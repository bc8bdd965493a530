// The prebuilt bundles (scripts/build.ts, run by `npm install`): each component as one CommonJS
// file under dist/, so that a process starts without stripping types or walking ~40 modules.
// A bundle runs only while it is fresh: the manifest written with it lists every source file that
// went into it (and the installed dependency tree, node_modules/.package-lock.json) with its size,
// mtime and SHA-256; one changed, added-to or missing file and every component runs from its
// TypeScript sources again until the next build. Nothing here loads esbuild.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root (this file is common/prebuilt.ts). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Entry points that are bundled, by their source path under the root, and their bundle's name. */
export const BUNDLED_ENTRIES: Readonly<Record<string, string>> = {
  "router/main.ts": "router.cjs",
  "activator/main.ts": "activator.cjs",
  "autoscaler/main.ts": "autoscaler.cjs",
  "queue-proxy/main.ts": "queue-proxy.cjs",
  "platform/local/pod-guard.ts": "pod-guard.cjs",
  "eventing/main.ts": "eventing.cjs",
};

/**
 * Packages bundled each on its own, beside the components' bundles, by package name. A component's
 * bundle requires one from there when it first uses it (a queue-proxy: pino at its first line that
 * is not a simple one; prom-client at its first scrape, or at start when it has a metrics port, as
 * on Kubernetes), so a queue-proxy that does not use them does not keep their code in the source
 * V8 holds whole for every script: −0.18 MB of a local queue-proxy's idle RSS (docs/prebuilt.md).
 */
export const BUNDLED_PACKAGES: Readonly<Record<string, string>> = {
  pino: "pino.cjs",
  "prom-client": "prom-client.cjs",
};

export const MANIFEST = "manifest.json";
export const MANIFEST_VERSION = 2;

export interface InputRecord {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface Manifest {
  version: number;
  builtAt: string;
  /** Source path (relative to the root) → bundle file name (relative to the dist directory). */
  entries: Record<string, string>;
  /** Package name → its bundle's file name (relative to the dist directory). */
  packages: Record<string, string>;
  /** Every file the bundles were made from, relative to the root. */
  inputs: Record<string, InputRecord>;
}

export interface PrebuiltOptions {
  root?: string;
  /** Where the bundles are; SLUICE_DIST, else `<root>/dist`. */
  dist?: string;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

/** What the manifest records of one input file. */
export function inputRecord(path: string): InputRecord {
  const stat = statSync(path);
  return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: sha256File(path) };
}

// Inputs whose content was found unchanged although their mtime moved (a checkout, a touch): the
// hash is not computed again for the same size and mtime.
const verified = new Map<string, string>();

function distOf(options: PrebuiltOptions): string {
  return options.dist ?? process.env.SLUICE_DIST ?? join(options.root ?? ROOT, "dist");
}

function readManifest(dist: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dist, MANIFEST), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** Why the bundles cannot run (a message naming the first changed file), or undefined if fresh. */
export function staleness(options: PrebuiltOptions = {}): string | undefined {
  const dist = distOf(options);
  const manifest = readManifest(dist);
  if (manifest === undefined) return `no build in ${dist}`;
  return manifestStaleness(manifest, options.root ?? ROOT, dist);
}

function manifestStaleness(manifest: Manifest, root: string, dist: string): string | undefined {
  if (manifest.version !== MANIFEST_VERSION) return `the build in ${dist} is of another format`;
  for (const [path, recorded] of Object.entries(manifest.inputs)) {
    const full = join(root, path);
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = statSync(full));
    } catch {
      return `${path} is gone`;
    }
    if (size !== recorded.size) return `${path} changed`;
    if (mtimeMs === recorded.mtimeMs) continue;
    const key = `${size}\0${mtimeMs}\0${recorded.sha256}`;
    if (verified.get(full) === key) continue;
    if (sha256File(full) !== recorded.sha256) return `${path} changed`;
    verified.set(full, key);
  }
  for (const bundle of [...Object.values(manifest.entries), ...Object.values(manifest.packages ?? {})]) {
    try {
      statSync(join(dist, bundle));
    } catch {
      return `${bundle} is missing from ${dist}`;
    }
  }
  return undefined;
}

function asPath(arg: string): string | undefined {
  try {
    return arg.startsWith("file:") ? fileURLToPath(arg) : resolve(arg);
  } catch {
    return undefined; // not a file URL after all
  }
}

/**
 * Node's arguments with each bundled entry point (a path or a file: URL of its source) replaced by
 * its bundle, when the build is fresh; unchanged otherwise (the TypeScript sources run). A bundle
 * is CommonJS, so `--import <entry>` becomes `--require <bundle>`. Other arguments are left alone.
 * SLUICE_DIST names another build directory than `<root>/dist`.
 */
export function preferPrebuilt(args: readonly string[], options: PrebuiltOptions = {}): string[] {
  const root = options.root ?? ROOT;
  const dist = distOf(options);
  const manifest = readManifest(dist);
  if (manifest === undefined) return [...args];
  const bySource = new Map(
    Object.entries(manifest.entries).map(([source, bundle]) => [join(root, source), bundle]),
  );
  const bundles = args.map((arg) => (arg.startsWith("-") ? undefined : bySource.get(asPath(arg) ?? "")));
  if (bundles.every((bundle) => bundle === undefined)) return [...args];
  if (manifestStaleness(manifest, root, dist) !== undefined) return [...args];
  return args.map((arg, i) => {
    if (arg === "--import" && bundles[i + 1] !== undefined) return "--require";
    const bundle = bundles[i];
    return bundle === undefined ? arg : join(dist, bundle);
  });
}

/**
 * Memory settings of the data-path components (router, activator, queue-proxy), one set for every
 * way they run: local processes (componentLaunch), Kubernetes pods (NODE_OPTIONS and the variable,
 * platform/kubernetes/ and the chart), the benchmark. Measured in docs/prebuilt.md (Memory):
 * - V8's young generation: its semi-spaces grow to 16 MB each under load (~30 MB of RSS held for
 *   the garbage a proxy makes and drops per request); capped at 2 MB, a scavenge comes ~8× as
 *   often, each as cheap (what survives is what requests in flight hold).
 * - One malloc arena: glibc gives each thread that allocates its own, and V8's compiler threads
 *   left ~1.3 MB in each of five.
 */
export const DATA_PATH_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=2"];
export const DATA_PATH_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "1" };

/** The data-path components' entry points, by source path under the root. */
const DATA_PATH_ENTRIES = ["router/main.ts", "activator/main.ts", "queue-proxy/main.ts"];
const QUEUE_PROXY_ENTRY = "queue-proxy/main.ts";

/**
 * The queue-proxy's own, after the data path's (docs/prebuilt.md, Memory): one per pod, so its RSS
 * counts many times over.
 * - No Maglev, V8's middle tier: a few path functions called at start were enough to compile one
 *   with it and bring ~2 MB of its code (the node binary's pages) into every queue-proxy; what a
 *   request runs is optimized by TurboFan as before.
 */
export const QUEUE_PROXY_NODE_OPTIONS: readonly string[] = ["--no-maglev"];
/**
 * - glibc's trim threshold set (it is 128 KB, and grows to twice the largest mmap'd block freed, to
 *   MBs at start): what start-up freed at the top of the heap goes back, ~0.8 MB idle. Setting it
 *   also keeps the mmap threshold at 128 KB (a 64 KB socket read stays on the heap).
 */
export const QUEUE_PROXY_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: "65536" };

export interface ComponentLaunch {
  /** Node's arguments: the data-path settings first, then the entry (its bundle when fresh). */
  args: string[];
  /** Variables to add to the process's environment. */
  env: Record<string, string>;
}

/**
 * How to run node with `args` (which may name one of sluice's entry points, by its source): from
 * its prebuilt bundle when fresh (preferPrebuilt), with the data-path settings above when it is the
 * router, the activator or a queue-proxy. Anything else is run as given.
 */
export function componentLaunch(args: readonly string[], options: PrebuiltOptions = {}): ComponentLaunch {
  const root = options.root ?? ROOT;
  const dataPath = new Set(DATA_PATH_ENTRIES.map((source) => join(root, source)));
  const entries = args.filter((arg) => !arg.startsWith("-")).map((arg) => asPath(arg) ?? "");
  const isDataPath = entries.some((path) => dataPath.has(path));
  const isQueueProxy = entries.includes(join(root, QUEUE_PROXY_ENTRY));
  const prebuilt = preferPrebuilt(args, options);
  if (!isDataPath) return { args: prebuilt, env: {} };
  if (!isQueueProxy) return { args: [...DATA_PATH_NODE_OPTIONS, ...prebuilt], env: { ...DATA_PATH_ENV } };
  return {
    args: [...DATA_PATH_NODE_OPTIONS, ...QUEUE_PROXY_NODE_OPTIONS, ...prebuilt],
    env: { ...DATA_PATH_ENV, ...QUEUE_PROXY_ENV },
  };
}

/** The bundle to run for an entry point's source (absolute path), when there is a fresh one. */
export function prebuiltEntry(source: string, options: PrebuiltOptions = {}): string | undefined {
  const [entry] = preferPrebuilt([source], options);
  return entry === source ? undefined : entry;
}
