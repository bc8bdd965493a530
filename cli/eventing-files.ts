// Files that hold Services and Eventing resources side by side (as Knative's examples do): which
// documents go to the autoscaler and which to the eventing component, and the offline check of
// the Eventing ones with eventing's own loader (file:line:col, as Services get). Pure but for
// nothing: the texts are read by readServiceFiles.
import { isMap, isScalar, parseAllDocuments } from "yaml";
import { EVENTING_API, type LoadedEventing, loadEventingTexts } from "../eventing/resources/load.ts";
import { SOURCE_KINDS } from "../eventing/resources/source-manifest.ts";
import { validateEventing } from "../eventing/resources/validate.ts";
import { validateSources } from "../eventing/resources/validate-sources.ts";
import { byPosition, formatProblem } from "../serving/load.ts";
import type { ServiceFile } from "./service-files.ts";

/** Whether a document's apiVersion belongs to Eventing (Broker, Trigger, the sources, SinkBinding). */
export function isEventingApi(apiVersion: unknown): boolean {
  return apiVersion === EVENTING_API || (typeof apiVersion === "string" && apiVersion in SOURCE_KINDS);
}

export interface SplitFiles {
  /** Files with a Service (or anything not Eventing) in them; Eventing documents blanked out. */
  services: ServiceFile[];
  /** Files with an Eventing document in them, as they are (eventing's loader skips the rest). */
  eventing: ServiceFile[];
}

/**
 * Splits each file's documents by API group. An Eventing document is replaced by as many empty
 * lines as it had, so the serving loader's (and the autoscaler's) line numbers stay those of the
 * file; a file left with nothing else is not sent to the autoscaler at all.
 */
export function splitFiles(files: readonly ServiceFile[]): SplitFiles {
  const out: SplitFiles = { services: [], eventing: [] };
  for (const file of files) {
    const docs = parseAllDocuments(file.text);
    const list = Array.isArray(docs) ? docs : [];
    let text = file.text;
    let eventing = 0;
    let other = 0;
    for (const doc of list) {
      const apiVersion: unknown = isMap(doc.contents) ? doc.contents.get("apiVersion", true) : undefined;
      const value = isScalar(apiVersion) ? apiVersion.value : undefined;
      if (doc.contents === null) continue; // an empty document
      if (!isEventingApi(value)) {
        other++;
        continue;
      }
      eventing++;
      const [start, , end] = doc.contents.range ?? [0, 0, 0];
      text = text.slice(0, start) + text.slice(start, end).replace(/[^\n]/g, " ") + text.slice(end);
    }
    // A file the YAML parser cannot split still goes to the serving loader, which reports why.
    if (other > 0 || eventing === 0) out.services.push({ file: file.file, text });
    if (eventing > 0) out.eventing.push(file);
  }
  return out;
}

export interface CheckedEventing {
  loaded: LoadedEventing;
  problems: string[];
  /** Worth knowing, not wrong: a Trigger's Broker that the files do not declare. */
  notes: string[];
  /** One line per resource: "Broker default/default", "Trigger default/orders → Service fulfil". */
  summaries: string[];
}

/**
 * Loads and checks the Eventing documents of `files` as one input. `knownBrokers`
 * ("namespace/name") are Brokers that exist already (apply asks the eventing component); without
 * it (validate, offline), a Trigger's Broker the files do not declare is a note, not a problem.
 */
export function checkEventing(
  files: readonly ServiceFile[],
  knownBrokers?: ReadonlySet<string>,
): CheckedEventing {
  const loaded = loadEventingTexts(files);
  const notes: string[] = [];
  let known = knownBrokers;
  if (known === undefined) {
    const declared = new Set(
      loaded.brokers.map((b) => `${b.manifest.metadata.namespace ?? "default"}/${b.manifest.metadata.name}`),
    );
    const outside = new Set<string>();
    for (const trigger of loaded.triggers) {
      const key = `${trigger.manifest.metadata.namespace ?? "default"}/${trigger.manifest.spec.broker}`;
      if (declared.has(key) || outside.has(key)) continue;
      outside.add(key);
      notes.push(
        `${trigger.file}:${trigger.line}: Trigger ${trigger.manifest.metadata.name}: Broker ${key} is not in these files; it must exist where they are applied`,
      );
    }
    known = outside;
  }
  const problems = [
    ...loaded.problems,
    ...validateEventing(loaded, known),
    ...validateSources(loaded, known),
  ];
  const order = new Map(files.map(({ file }, index) => [file, index]));
  problems.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || byPosition(a, b));
  return { loaded, problems: problems.map(formatProblem), notes, summaries: summaries(loaded) };
}

function summaries(loaded: LoadedEventing): string[] {
  const id = (m: { metadata: { name: string; namespace?: string } }) =>
    `${m.metadata.namespace ?? "default"}/${m.metadata.name}`;
  return [
    ...loaded.brokers.map((b) => `Broker ${id(b.manifest)}`),
    ...loaded.triggers.map((t) => {
      const { subscriber } = t.manifest.spec;
      const to = subscriber.ref ? `${subscriber.ref.kind} ${subscriber.ref.name}` : subscriber.uri;
      return `Trigger ${id(t.manifest)} on Broker ${t.manifest.spec.broker} → ${to}`;
    }),
    ...loaded.sources.map((s) => `${s.manifest.kind} ${id(s.manifest)}`),
    ...loaded.sinkBindings.map((b) => `SinkBinding ${id(b.manifest)}`),
  ];
}

/** The number of Eventing resources the check found. */
export function eventingCount(loaded: LoadedEventing): number {
  return loaded.brokers.length + loaded.triggers.length + loaded.sources.length + loaded.sinkBindings.length;
}
