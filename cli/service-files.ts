// Reading and checking Service files on the user's side, for `sluice validate` and `sluice apply`:
// the same loader and checks the autoscaler runs (serving/), so problems are found before anything
// is sent, with the same file:line:column.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import type { ServiceDraft } from "../serving/draft.ts";
import {
  formatProblem,
  type LoadedDocument,
  type LoadedService,
  loadManifests,
  type Problem,
} from "../serving/load.ts";
import type { ServiceManifest, TrafficEntry } from "../serving/manifest.ts";
import { type Revision, revisionFor } from "../serving/revisions.ts";
import { localRunnable, validateServices } from "../serving/validate.ts";

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface ServiceFile {
  file: string;
  text: string;
}

/**
 * Expands `-f` arguments: a file as given, a directory to its *.yaml, *.yml and *.json files
 * (not recursive, in name order). An unreadable path is a problem, not an exception.
 */
export function readServiceFiles(paths: readonly string[]): { files: ServiceFile[]; problems: Problem[] } {
  const files: ServiceFile[] = [];
  const problems: Problem[] = [];
  const cannot = (file: string, error: unknown) =>
    problems.push({ file, path: "", message: `cannot read: ${(error as Error).message}` });
  for (const path of paths) {
    let names = [path];
    try {
      if (statSync(path).isDirectory()) {
        names = readdirSync(path)
          .filter((name) => EXTENSIONS.has(extname(name).toLowerCase()))
          .sort()
          .map((name) => join(path, name))
          .filter((name) => statSync(name).isFile());
        if (names.length === 0) {
          problems.push({
            file: path,
            path: "",
            message: "no *.yaml, *.yml or *.json files in this directory",
          });
        }
      }
    } catch (error) {
      cannot(path, error);
      continue;
    }
    for (const file of names) {
      try {
        files.push({ file, text: readFileSync(file, "utf8") });
      } catch (error) {
        cannot(file, error);
      }
    }
  }
  return { files, problems };
}

/** `hello`, or `staging/hello` outside the default namespace. */
export function serviceId(manifest: ServiceDraft): string {
  const namespace = manifest.metadata?.namespace ?? "default";
  const name = manifest.metadata?.name ?? "?";
  return namespace === "default" ? name : `${namespace}/${name}`;
}

/** `hello-00001 80%, hello-00002 20% (canary)`; no traffic means 100 % to the latest revision. */
export function describeTraffic(traffic: readonly TrafficEntry[] | undefined): string {
  const entries = traffic ?? [{ latestRevision: true, percent: 100 }];
  return entries
    .map((entry) => {
      const target = entry.latestRevision ? "latest" : (entry.revisionName ?? "?");
      return `${target} ${entry.percent ?? 0}%${entry.tag ? ` (${entry.tag})` : ""}`;
    })
    .join(", ");
}

export interface CheckedServices {
  services: LoadedService[];
  /** Everything wrong, as file:line:column: path: message. */
  problems: string[];
  /** Worth knowing, not wrong: references to revisions outside the files, image-only containers. */
  notes: string[];
  /** One line per service: name, revision naming, traffic (only when there are no problems). */
  summaries: string[];
}

/**
 * Loads and checks every Service in `files` together, as one input, reporting every problem of
 * every stage at once. `knownRevisions` lists the revisions that already exist (apply asks the
 * autoscaler); without it (validate, offline), a traffic reference to a revision the files do not
 * declare is a note, not a problem: it may exist where the files get applied. `running` is the
 * services already there, for host collisions.
 */
export function checkServices(
  files: readonly ServiceFile[],
  knownRevisions?: (namespace: string, service: string) => readonly string[],
  running: readonly ServiceDraft[] = [],
): CheckedServices {
  const documents: LoadedDocument[] = [];
  const problems: Problem[] = [];
  for (const { file, text } of files) {
    const loaded = loadManifests(text, file);
    documents.push(...loaded.documents);
    problems.push(...loaded.problems);
  }
  const services = documents.filter((document): document is LoadedService => document.manifest !== undefined);
  const notes: string[] = [];
  const outside = new Map<string, Set<string>>();
  const known =
    knownRevisions ?? ((namespace: string, name: string) => [...(outside.get(`${namespace}/${name}`) ?? [])]);
  const keyOf = (draft: ServiceDraft) => `${draft.metadata?.namespace ?? "default"}/${draft.metadata?.name}`;
  if (!knownRevisions) {
    for (const { draft, file, line } of documents) {
      if (draft.metadata?.name === undefined) continue;
      const key = keyOf(draft);
      const declared = new Set(
        documents
          .filter((d) => d.draft.metadata?.name !== undefined && keyOf(d.draft) === key)
          .flatMap((d) => d.draft.spec?.template?.metadata?.name ?? []),
      );
      for (const entry of draft.spec?.traffic ?? []) {
        const name = entry?.revisionName;
        if (name === undefined || declared.has(name) || outside.get(key)?.has(name)) continue;
        outside.set(key, (outside.get(key) ?? new Set()).add(name));
        notes.push(
          `${file}:${line}: ${serviceId(draft)}: traffic refers to revision ${name}, which these files do not declare; it must exist where they are applied`,
        );
      }
    }
  }
  problems.push(...validateServices(documents, known, running));
  for (const { draft, file, line, rejected } of documents) {
    const reason = rejected(["spec", "template", "spec", "containers", 0]) ? undefined : localRunnable(draft);
    if (reason) notes.push(`${file}:${line}: ${serviceId(draft)}: cannot run locally: ${reason}`);
  }

  // The revisions each document would create, in order, from an empty history (offline) — catches
  // a revision name Knative would refuse, and names them for the summary.
  const histories = new Map<string, Revision[]>();
  const names = new Map<string, { manifest: ServiceManifest; revisions: string[] }>();
  for (const loaded of services) {
    const { manifest } = loaded;
    const key = keyOf(manifest);
    const history = histories.get(key) ?? [];
    const result = revisionFor(manifest, history, 0);
    if ("error" in result) {
      const [path, ...rest] = result.error.split(": ");
      const at = ["spec", "template", "metadata", "name"];
      problems.push({ file: loaded.file, path, ...loaded.locate(at), message: rest.join(": ") });
      continue;
    }
    if (result.created) histories.set(key, [...history, result.revision]);
    const entry = names.get(key) ?? { manifest, revisions: [] };
    entry.manifest = manifest;
    const pinned = manifest.spec.template.metadata?.name;
    const label = pinned ?? `${manifest.metadata.name}-NNNNN`;
    if (!entry.revisions.includes(label)) entry.revisions.push(label);
    names.set(key, entry);
  }

  const summaries = [...names.values()].map(({ manifest, revisions }) => {
    const named = manifest.spec.template.metadata?.name !== undefined;
    const naming = named
      ? `revision${revisions.length > 1 ? "s" : ""} ${revisions.join(", ")} (named)`
      : `revision ${manifest.metadata.name}-NNNNN (numbered, a new one on each template change)`;
    return `${serviceId(manifest)}: ${naming}; traffic ${describeTraffic(manifest.spec.traffic)}`;
  });
  // In reading order: by file as given, then by position.
  const order = new Map(files.map(({ file }, index) => [file, index]));
  problems.sort(
    (a, b) =>
      (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
  return { services, problems: problems.map(formatProblem), notes, summaries };
}

/** Reads `paths` and checks them as one input (offline): the files, the checks, every problem as a line. */
export function checkServiceFiles(paths: readonly string[]): {
  files: ServiceFile[];
  checked: CheckedServices;
  problems: string[];
} {
  const { files, problems: unreadable } = readServiceFiles(paths);
  const checked = checkServices(files);
  return {
    files,
    checked,
    problems: [...unreadable.map((p) => `${p.file}: ${p.message}`), ...checked.problems],
  };
}
