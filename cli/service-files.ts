// Reading and checking Service files on the user's side, for `sluice validate` and `sluice apply`:
// the same loader and checks the autoscaler runs (serving/), so problems are found before anything
// is sent, with the same file:line:column.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { isMap, isScalar, parseAllDocuments } from "yaml";
import { containerProblems } from "../platform/kubernetes/container-rules.ts";
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

/**
 * Checking for a Kubernetes cluster (sluice apply/validate --kubeconfig…) rather than the local
 * platform: `apiVersion: serving.sluice.dev/v1` is read as Knative's, a document without a
 * namespace goes to `namespace`, Knative's container rules for Kubernetes (the controller's) apply,
 * and what only the local platform cares about (a container with an image only) is no note.
 */
export interface ClusterCheck {
  namespace: string;
  /** -n was given: a document in another namespace is a problem, as with kubectl. */
  namespaceGiven: boolean;
}

const SLUICE_API_VERSION = "serving.sluice.dev/v1";

/**
 * The text with every document's `apiVersion: serving.sluice.dev/v1` written as Knative's, and a
 * function that maps a position in the new text back to the original (each rewrite is one
 * character longer, which moves what follows on its line).
 */
function asKnativeText(text: string): { text: string; back: (line: number, column: number) => number } {
  const edits: number[] = [];
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (!isMap(doc.contents)) continue;
    const node: unknown = doc.contents.get("apiVersion", true);
    if (!isScalar(node) || node.value !== SLUICE_API_VERSION || !node.range) continue;
    const at = text.indexOf("serving.sluice.dev", node.range[0]);
    if (at !== -1 && at < node.range[1]) edits.push(at);
  }
  if (edits.length === 0) return { text, back: (_line, column) => column };
  let out = "";
  let from = 0;
  for (const at of edits) {
    out += `${text.slice(from, at)}serving.knative.dev`;
    from = at + "serving.sluice.dev".length;
  }
  out += text.slice(from);
  // Where each edit is in the new text, as line and column (1-based, as the loader counts).
  const moved: { line: number; column: number }[] = edits.map((at, index) => {
    const before = out.slice(0, at + index);
    const line = before.split("\n").length;
    return { line, column: at + index - before.lastIndexOf("\n") };
  });
  return {
    text: out,
    back: (line, column) =>
      column -
      moved.filter((edit) => edit.line === line && column >= edit.column + "serving.knative.dev".length)
        .length,
  };
}

/** "spec.template.spec.containers[0].ports[1].name" as a path: ["spec", …, "containers", 0, …]. */
function pathOf(text: string): (string | number)[] {
  return text
    .split(/\.|\[(\d+)\]/)
    .filter((part) => part !== undefined && part !== "")
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
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
  cluster?: ClusterCheck,
): CheckedServices {
  const documents: LoadedDocument[] = [];
  const problems: Problem[] = [];
  for (const { file, text } of files) {
    if (!cluster) {
      const loaded = loadManifests(text, file);
      documents.push(...loaded.documents);
      problems.push(...loaded.problems);
      continue;
    }
    const knative = asKnativeText(text);
    const loaded = loadManifests(knative.text, file);
    const back = <T extends { line?: number; column?: number }>(position: T): T =>
      position.line === undefined || position.column === undefined
        ? position
        : { ...position, column: knative.back(position.line, position.column) };
    for (const document of loaded.documents) {
      const locate = document.locate;
      documents.push({ ...document, locate: (path, key) => back(locate(path, key)) });
    }
    problems.push(...loaded.problems.map(back));
  }
  if (cluster) problems.push(...placeInNamespace(documents, cluster));
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
  for (const { draft, file, line, rejected, manifest, locate } of documents) {
    if (cluster) {
      // The controller's rules for running it as a Deployment (validation.ts does the same).
      for (const problem of manifest ? containerProblems(manifest.spec.template) : [])
        problems.push({
          file,
          path: problem.path,
          ...locate(pathOf(problem.path)),
          message: problem.message,
        });
      continue;
    }
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

/**
 * Cluster mode: a document without a namespace goes to the target's; with -n given, a document in
 * another namespace is a problem (kubectl refuses it too).
 */
function placeInNamespace(documents: readonly LoadedDocument[], cluster: ClusterCheck): Problem[] {
  const problems: Problem[] = [];
  for (const document of documents) {
    const metadata = document.draft.metadata;
    if (metadata === undefined || document.rejected(["metadata", "namespace"])) continue;
    if (metadata.namespace === undefined) {
      metadata.namespace = cluster.namespace;
      if (document.manifest) document.manifest.metadata.namespace = cluster.namespace;
    } else if (cluster.namespaceGiven && metadata.namespace !== cluster.namespace) {
      const path = ["metadata", "namespace"];
      problems.push({
        file: document.file,
        path: "metadata.namespace",
        ...document.locate(path),
        message: `namespace ${metadata.namespace} does not match -n ${cluster.namespace}; give -n ${metadata.namespace} or leave the namespace out of the file`,
      });
    }
  }
  return problems;
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
