// Builds the prebuilt bundles: each component (common/prebuilt.ts lists them) as one CommonJS file
// in dist/, with a manifest of its inputs that decides whether it may run (fresh) or not (stale).
// Run by `npm install` (the prepare script) and `npm start`; by hand: `npm run build`.
//
//   node scripts/build.ts             build
//   node scripts/build.ts --if-stale  build only when the bundles are missing or stale
//
// Why CommonJS: a Node 24 process whose entry point is an ES module starts its ES module loader,
// which costs ~20 ms of CPU and ~13 MB of RSS more than a CommonJS entry (docs/prebuilt.md has the
// measurements). esbuild bundles to ESM (the components use top-level await), with every import
// of a Node built-in turned into require() by a plugin; the output then has no import or export
// statement left and is wrapped in an async function, which makes it a CommonJS script.
// OpenTelemetry stays outside the bundles: it is required from node_modules only when tracing is on.
// pino and prom-client are bundled each on its own (CommonJS, common/prebuilt.ts BUNDLED_PACKAGES),
// and required from dist/ by the components' bundles when first used: a queue-proxy that never
// needs them does not keep their source.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import {
  BUNDLED_ENTRIES,
  BUNDLED_PACKAGES,
  inputRecord,
  MANIFEST,
  MANIFEST_VERSION,
  type Manifest,
  ROOT,
  sha256,
  staleness,
} from "../common/prebuilt.ts";

/** Packages left out of the bundles, required at run time from node_modules (tracing, when on). */
const EXTERNAL = ["@opentelemetry/"];
/** Stands for node_modules' content in the manifest: npm rewrites it on every install. */
const INSTALLED_TREE = "node_modules/.package-lock.json";
const BUILD_SCRIPT = fileURLToPath(import.meta.url);

export interface BuildOptions {
  root?: string;
  dist?: string;
  /** Source path (relative to the root) → bundle name; common/prebuilt.ts's list by default. */
  entries?: Readonly<Record<string, string>>;
  /** Package name → bundle name, bundled on their own; common/prebuilt.ts's list by default. */
  packages?: Readonly<Record<string, string>>;
}

export interface BuildResult {
  dist: string;
  bundles: { source: string; file: string; bytes: number }[];
  /** The packages' bundles (`source` is the package's name). */
  packages: { source: string; file: string; bytes: number }[];
  inputs: number;
}

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * `import … from "node:http"` becomes a CommonJS module around require("node:http"); an import of
 * a package left out of the bundles (EXTERNAL) one around a require() that resolves from the
 * root's node_modules (wherever the bundle is); and, in a component's bundle, an import of a
 * package bundled on its own (`packages`: name → file in dist/) one around a require() of that
 * file. The output is left with no import statement.
 */
function requiredAtRunTime(packages: Readonly<Record<string, string>> = {}): Plugin {
  return {
    name: "required-at-run-time",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace === "run-time") return { path: args.path, external: true };
        if (BUILTINS.has(args.path) || args.path.startsWith("node:"))
          return {
            path: args.path,
            namespace: "run-time",
            pluginData: `require(${JSON.stringify(args.path)})`,
          };
        if (EXTERNAL.some((prefix) => args.path.startsWith(prefix)))
          return {
            path: args.path,
            namespace: "run-time",
            pluginData: `__sluiceRequire(${JSON.stringify(args.path)})`,
          };
        if (Object.hasOwn(packages, args.path))
          return {
            path: args.path,
            namespace: "run-time",
            pluginData: `require(require("node:path").join(__dirname, ${JSON.stringify(packages[args.path])}))`,
          };
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: "run-time" }, (args) => ({
        contents: `module.exports = ${args.pluginData};`,
        loader: "js",
      }));
    },
  };
}

/**
 * pino's transports run in worker threads (thread-stream); sluice logs to stdout and never uses
 * one, so the bundles leave them out (worker_threads and its modules are not loaded at start).
 * Asking pino for a transport in a bundle throws, naming this.
 */
const pinoWithoutTransports: Plugin = {
  name: "pino-without-transports",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/(lib\/)?transport$/ }, (args) =>
      /[/\\]node_modules[/\\]pino[/\\]/.test(args.importer)
        ? { path: "pino-transport", namespace: "stub" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents:
        'module.exports = () => { throw new Error("pino transports are not in sluice\'s bundles (scripts/build.ts)"); };',
      loader: "js",
    }));
  },
};

const LOADERS = {
  ".ts": "ts",
  ".mts": "ts",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".json": "json",
} as const;

/**
 * Loads every file for esbuild, and:
 * - records each of the project's own files as it was read (its size and SHA-256, and its mtime
 *   taken before the read), so that the manifest describes exactly what went into the bundles
 *   even when a file is edited during the build;
 * - turns `import.meta.url` into the file's own source URL, computed at run time from the bundle's
 *   location: paths resolved against it (createRequire, static files) stay right wherever the tree
 *   is moved.
 */
function loadAndRecord(root: string, inputs: Manifest["inputs"]): Plugin {
  return {
    name: "load-and-record",
    setup(build) {
      build.onLoad({ filter: /\.(m?[jt]s|cjs|json)$/, namespace: "file" }, (args) => {
        const path = relative(root, args.path).split(sep).join("/");
        const own = !path.startsWith("../") && !path.split("/").includes("node_modules");
        const { mtimeMs } = statSync(args.path);
        const bytes = readFileSync(args.path);
        if (own) inputs[path] = { size: bytes.length, mtimeMs, sha256: sha256(bytes) };
        const contents = bytes.toString("utf8");
        const loader = LOADERS[extname(args.path) as keyof typeof LOADERS];
        if (!contents.includes("import.meta")) return { contents: bytes, loader };
        return {
          contents: contents.replaceAll("import.meta.url", `__sluiceSourceUrl(${JSON.stringify(path)})`),
          loader,
        };
      });
    },
  };
}

function writeAtomically(path: string, contents: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/**
 * The banner's line that defines __sluiceRequire (EXTERNAL packages), for a bundle in dist. It makes
 * its require() at its first call: node:module costs ~0.5 MB of RSS, and a queue-proxy on the raw
 * path requires no external package (docs/prebuilt.md).
 */
const externalRequire =
  'let __sluiceRequireOf; const __sluiceRequire = (id) => (__sluiceRequireOf ??= require("node:module").createRequire(require("node:path").join(__sluiceRoot, "package.json")))(id);';

/** Builds every entry into `dist` (bundles first, then the manifest that makes them fresh). */
export async function build(options: BuildOptions = {}): Promise<BuildResult> {
  const root = options.root ?? ROOT;
  const dist = options.dist ?? process.env.SLUICE_DIST ?? join(root, "dist");
  const entries = options.entries ?? BUNDLED_ENTRIES;
  const packages = options.packages ?? BUNDLED_PACKAGES;
  const esbuild = await import("esbuild");
  const rootFromDist = relative(dist, root).split(sep).join("/") || ".";
  const rootLine = `const __sluiceRoot = require("node:path").join(__dirname, ${JSON.stringify(rootFromDist)});`;
  const inputs: Manifest["inputs"] = {};
  const shared = {
    absWorkingDir: root,
    outdir: dist,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    target: "node24",
    sourcemap: "linked",
    // The source V8 keeps for compiling functions on first call is then a third smaller: −0.35 MB
    // of RSS in every queue-proxy. Names stay; NODE_OPTIONS=--enable-source-maps maps a stack
    // trace's positions back to the sources (the .map beside each bundle).
    minifyWhitespace: true,
    metafile: true,
    write: false,
    logLevel: "warning",
  } as const;
  const components = esbuild.build({
    ...shared,
    entryPoints: Object.entries(entries).map(([source, bundle]) => ({
      in: join(root, source),
      out: bundle.replace(/\.cjs$/, ""),
    })),
    format: "esm",
    plugins: [requiredAtRunTime(packages), pinoWithoutTransports, loadAndRecord(root, inputs)],
    banner: {
      js: [
        '"use strict";',
        rootLine,
        'const __sluiceSourceUrl = (path) => require("node:url").pathToFileURL(require("node:path").join(__sluiceRoot, path)).href;',
        externalRequire,
        "(async () => {",
      ].join("\n"),
    },
    // An error thrown at the top level is rethrown outside the promise, as an uncaught exception:
    // the same exit as an ES module entry point's.
    footer: { js: "})().catch((error) => process.nextTick(() => { throw error; }));" },
  });
  // The packages are CommonJS already: each bundled as a CommonJS module of its own.
  const fromRoot = createRequire(join(root, "package.json"));
  const ownPackages = esbuild.build({
    ...shared,
    entryPoints: Object.entries(packages).map(([name, bundle]) => ({
      in: fromRoot.resolve(name),
      out: bundle.replace(/\.cjs$/, ""),
    })),
    format: "cjs",
    plugins: [requiredAtRunTime(), pinoWithoutTransports],
    banner: { js: [rootLine, externalRequire].join("\n") },
  });
  const [result, packagesResult] = await Promise.all([components, ownPackages]);
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    // A package with a bundle of its own must not be in a component's too (a subpath import, or a
    // dependency's own copy of it, would put it there).
    const copied = Object.keys(packages).filter((name) =>
      Object.keys(output.inputs).some((input) => input.includes(`node_modules/${name}/`)),
    );
    if (copied.length > 0)
      throw new Error(`${file}: ${copied.join(", ")} bundled into it although bundled on its own`);
    const left = output.imports.filter((i) => i.kind === "import-statement").map((i) => i.path);
    if (left.length > 0 || output.exports.length > 0)
      throw new Error(
        `${file}: import or export statements left (${left.join(", ")}): not a CommonJS script`,
      );
  }
  mkdirSync(dist, { recursive: true });
  const written = (outputs: typeof result.outputFiles, names: Readonly<Record<string, string>>) => {
    const out: BuildResult["bundles"] = [];
    for (const file of outputs) {
      if (file.text.includes("import.meta") && file.path.endsWith(".cjs"))
        throw new Error(`${file.path}: import.meta other than import.meta.url is left in it`);
      writeAtomically(file.path, file.contents);
      if (file.path.endsWith(".cjs")) {
        const source = Object.keys(names).find((s) => join(dist, names[s]) === file.path) as string;
        out.push({ source, file: file.path, bytes: file.contents.byteLength });
      }
    }
    return out;
  };
  const bundles = written(result.outputFiles, entries);
  const packageBundles = written(packagesResult.outputFiles, packages);

  const add = (path: string) => {
    inputs[path] = inputRecord(join(root, path));
  };
  for (const input of Object.keys(result.metafile.inputs)) {
    if (input.includes(":") || input.split("/").includes("node_modules")) continue; // builtins, packages
    if (!(input in inputs)) add(input); // a kind of file the plugin did not load
  }
  if (exists(join(root, INSTALLED_TREE))) add(INSTALLED_TREE);
  const script = relative(root, BUILD_SCRIPT);
  if (!script.startsWith("..")) add(script.split(sep).join("/"));
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    builtAt: new Date().toISOString(),
    entries: { ...entries },
    packages: { ...packages },
    inputs,
  };
  writeAtomically(join(dist, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
  return { dist, bundles, packages: packageBundles, inputs: Object.keys(inputs).length };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function main(args: string[]): Promise<void> {
  if (args.includes("--if-stale")) {
    const reason = staleness();
    if (reason === undefined) return;
    console.log(`sluice build: ${reason}: building`);
  }
  try {
    await import("esbuild");
  } catch {
    console.log("sluice build: esbuild is not installed; components run from their TypeScript sources");
    return;
  }
  const started = performance.now();
  const result = await build();
  const sizes = [...result.bundles, ...result.packages].map(
    (b) => `${relative(ROOT, b.file)} ${(b.bytes / 1024).toFixed(0)} kB`,
  );
  console.log(
    `sluice build: ${sizes.join(", ")} from ${result.inputs} files in ${Math.round(performance.now() - started)} ms`,
  );
}

if (process.argv[1] === BUILD_SCRIPT) {
  await main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`sluice build failed: ${error.message}`);
    process.exitCode = 1;
  });
}
