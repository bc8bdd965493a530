import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { byPosition, formatProblem, type Problem } from "../../serving/load.ts";
import { compileEventing, type EventingSet, type ResolveOptions } from "./compile.ts";
import { emptyLoaded, type LoadedEventing, loadEventingManifests, mergeLoaded } from "./load.ts";
import type { SinkBindingManifest, SourceManifest } from "./source-manifest.ts";
import { validateEventing } from "./validate.ts";
import { validateSources } from "./validate-sources.ts";

// Brokers, Triggers and sources from files and directories: loaded, validated and compiled as
// one set, or every problem of every file. The I/O edge of resources/ (the rest of it is pure).
// Sources come back as manifests: their Broker sinks need the ingress's address, known once it
// listens (compileSources).

const MANIFEST = /\.(ya?ml|json)$/;

export function readEventingFiles(
  paths: readonly string[],
  options: ResolveOptions,
):
  | { set: EventingSet; sources: SourceManifest[]; sinkBindings: SinkBindingManifest[] }
  | { problems: string[] } {
  const all: LoadedEventing = emptyLoaded();
  const problems: Problem[] = [];
  for (const file of paths.flatMap(expand)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      problems.push({ file, path: "", message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    mergeLoaded(all, loadEventingManifests(text, file));
  }
  problems.push(...all.problems, ...validateEventing(all), ...validateSources(all));
  if (problems.length > 0) {
    // In the order the files were given, then by position in each.
    const files = paths.flatMap(expand);
    problems.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || byPosition(a, b));
    return { problems: problems.map(formatProblem) };
  }
  return {
    set: compileEventing(
      all.brokers.map((b) => b.manifest),
      all.triggers.map((t) => t.manifest),
      options,
    ),
    sources: all.sources.map((s) => s.manifest),
    sinkBindings: all.sinkBindings.map((b) => b.manifest),
  };
}

function expand(path: string): string[] {
  try {
    if (!statSync(path).isDirectory()) return [path];
  } catch {
    return [path]; // reported when read
  }
  return readdirSync(path)
    .filter((name) => MANIFEST.test(name))
    .sort()
    .map((name) => join(path, name));
}
