import { stringify } from "yaml";
import type { Problem } from "../../serving/load.ts";
import { compileEventing, type EventingSet, type ResolveOptions } from "../resources/compile.ts";
import { emptyLoaded, type LoadedEventing, loadEventingManifests } from "../resources/load.ts";
import type { SinkBindingManifest, SourceManifest } from "../resources/source-manifest.ts";
import { validateEventing } from "../resources/validate.ts";
import { validateSources } from "../resources/validate-sources.ts";
import { resourceId } from "./kinds.ts";
import type { EventingDocument } from "./to-document.ts";

// Everything the cluster holds → what to serve, and each resource's verdict. The file path checks
// a set as a whole and refuses it on any problem (a user fixes the file); here every resource is
// someone's object, so one bad resource must not stop the others: it is left out, with its
// problems, and the rest is checked again — a Trigger whose Broker was left out is then refused
// for that ("no Broker …"), as Knative reports a missing Broker. Pure: the same loaders,
// validators and compiler as EVENTING_FILES, each document "file" named by its resource id.

export interface ClusterResources {
  set: EventingSet;
  /** Valid sources and SinkBindings, for the source runners. */
  sources: SourceManifest[];
  sinkBindings: SinkBindingManifest[];
  /** Every resource by id ("Trigger shop/orders"): its problems, none when it is served. */
  problems: Map<string, string[]>;
}

/** A problem as a status message: "spec.broker: no Broker …" (no file or line: the object is the place). */
export function problemMessage(problem: Problem): string {
  return problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`;
}

const size = (l: LoadedEventing) =>
  l.brokers.length + l.triggers.length + l.sources.length + l.sinkBindings.length;

export function buildResources(
  documents: readonly EventingDocument[],
  options: ResolveOptions,
): ClusterResources {
  const problems = new Map<string, string[]>();
  let loaded: LoadedEventing = emptyLoaded();
  for (const document of documents) {
    const id = resourceId(document.kind, document.metadata.namespace, document.metadata.name);
    const one = loadEventingManifests(stringify(document), id);
    problems.set(id, one.problems.map(problemMessage));
    if (one.problems.length > 0) continue;
    loaded.brokers.push(...one.brokers);
    loaded.triggers.push(...one.triggers);
    loaded.sources.push(...one.sources);
    loaded.sinkBindings.push(...one.sinkBindings);
  }
  // Each round leaves out what failed; ends because every round that goes on removes something.
  for (;;) {
    const found = [...validateEventing(loaded), ...validateSources(loaded)];
    if (found.length === 0) break;
    const failed = new Set<string>();
    for (const problem of found) {
      failed.add(problem.file);
      problems.get(problem.file)?.push(problemMessage(problem));
    }
    const keep = <T extends { file: string }>(docs: T[]) => docs.filter((doc) => !failed.has(doc.file));
    const before = size(loaded);
    loaded = {
      ...emptyLoaded(),
      brokers: keep(loaded.brokers),
      triggers: keep(loaded.triggers),
      sources: keep(loaded.sources),
      sinkBindings: keep(loaded.sinkBindings),
    };
    if (size(loaded) === before) break; // a problem naming no resource here: cannot happen, never spins
  }
  return {
    set: compileEventing(
      loaded.brokers.map((b) => b.manifest),
      loaded.triggers.map((t) => t.manifest),
      options,
    ),
    sources: loaded.sources.map((s) => s.manifest),
    sinkBindings: loaded.sinkBindings.map((b) => b.manifest),
    problems,
  };
}
