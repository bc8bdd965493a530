// The Eventing documents of `sluice apply` and `sluice validate` against a cluster, checked here
// with eventing's own loader and validators (file:line:column, as the local path does), placed in
// their namespace as Services are (none → -n or the context's; with -n, another is a problem), and
// a Trigger's or a sink's Broker looked for in the files plus the Brokers the cluster has. Pure.
import { type LoadedEventing, type Located, loadEventingTexts } from "../../eventing/resources/load.ts";
import { validateEventing } from "../../eventing/resources/validate.ts";
import { validateSources } from "../../eventing/resources/validate-sources.ts";
import { byPosition, formatProblem, type Problem } from "../../serving/load.ts";
import type { ClusterCheck, ServiceFile } from "../service-files.ts";

/** Any Eventing manifest: what a document of every kind has in common. */
export interface EventingManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
  status?: unknown;
}

export interface CheckedClusterEventing {
  /** Every valid document, in file order, its namespace set. */
  documents: Located<EventingManifest>[];
  problems: string[];
  /** One line per resource: "Trigger default/orders on Broker default → Service fulfil". */
  summaries: string[];
}

/** Every document of `loaded` (Brokers, Triggers, sources, SinkBindings), in file and line order. */
export function allDocuments(
  loaded: LoadedEventing,
  files: readonly ServiceFile[],
): Located<EventingManifest>[] {
  const order = new Map(files.map(({ file }, index) => [file, index]));
  return [...loaded.brokers, ...loaded.triggers, ...loaded.sources, ...loaded.sinkBindings]
    .map((doc) => doc as Located<EventingManifest>)
    .sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line);
}

/** The Brokers ("namespace/name") the documents name: Triggers' spec.broker, Broker sinks. */
export function referencedBrokers(loaded: LoadedEventing): Set<string> {
  const names = new Set<string>();
  for (const { manifest } of loaded.triggers)
    names.add(`${manifest.metadata.namespace ?? "default"}/${manifest.spec.broker}`);
  for (const { manifest } of [...loaded.sources, ...loaded.sinkBindings]) {
    const ref = manifest.spec.sink.ref;
    if (ref?.kind === "Broker") names.add(`${manifest.metadata.namespace ?? "default"}/${ref.name}`);
  }
  return names;
}

function place(documents: readonly Located<EventingManifest>[], cluster: ClusterCheck): Problem[] {
  const problems: Problem[] = [];
  for (const document of documents) {
    const metadata = document.manifest.metadata;
    if (metadata.namespace === undefined) metadata.namespace = cluster.namespace;
    else if (cluster.namespaceGiven && metadata.namespace !== cluster.namespace)
      problems.push({
        file: document.file,
        path: "metadata.namespace",
        ...document.locate(["metadata", "namespace"]),
        message: `namespace ${metadata.namespace} does not match -n ${cluster.namespace}; give -n ${metadata.namespace} or leave the namespace out of the file`,
      });
  }
  return problems;
}

/**
 * Loads and checks the Eventing documents of `files` as one input for `cluster`. `clusterBrokers`
 * are the Brokers the cluster has ("namespace/name"); "unknown" (before the cluster is asked)
 * takes every Broker the documents name as existing, so only what the files alone say is wrong
 * is a problem.
 */
export function checkClusterEventing(
  files: readonly ServiceFile[],
  cluster: ClusterCheck,
  clusterBrokers: ReadonlySet<string> | "unknown",
): CheckedClusterEventing {
  const loaded = loadEventingTexts(files);
  const documents = allDocuments(loaded, files);
  const problems = [...loaded.problems, ...place(documents, cluster)];
  const known = clusterBrokers === "unknown" ? referencedBrokers(loaded) : clusterBrokers;
  problems.push(...validateEventing(loaded, known), ...validateSources(loaded, known));
  const order = new Map(files.map(({ file }, index) => [file, index]));
  problems.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || byPosition(a, b));
  return { documents, problems: problems.map(formatProblem), summaries: summaries(loaded) };
}

/** "Broker shop/default": how a resource is named in every line. */
export function eventingId(manifest: EventingManifest): string {
  return `${manifest.kind} ${manifest.metadata.namespace ?? "default"}/${manifest.metadata.name}`;
}

function summaries(loaded: LoadedEventing): string[] {
  return [
    ...loaded.brokers.map((b) => eventingId(b.manifest)),
    ...loaded.triggers.map((t) => {
      const { subscriber } = t.manifest.spec;
      const to = subscriber.ref ? `${subscriber.ref.kind} ${subscriber.ref.name}` : subscriber.uri;
      return `${eventingId(t.manifest)} on Broker ${t.manifest.spec.broker} → ${to}`;
    }),
    ...loaded.sources.map((s) => eventingId(s.manifest)),
    ...loaded.sinkBindings.map((b) => eventingId(b.manifest)),
  ];
}
