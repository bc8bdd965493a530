import { positionOf } from "../../common/yaml-position.ts";
import { isPlainObject } from "../../serving/absent.ts";
import { byPosition, type Position, type Problem, schemaProblems } from "../../serving/load.ts";
import { readYamlDocuments } from "../../serving/yaml-documents.ts";
import { type BrokerManifest, brokerSchema, type TriggerManifest, triggerSchema } from "./manifest.ts";
import { type SinkBindingManifest, SOURCE_KINDS, type SourceManifest } from "./source-manifest.ts";

export type { Problem } from "../../serving/load.ts";

// Loading Broker and Trigger manifests, the way serving/load.ts loads Services: every YAML and
// schema problem with file:line:col, nothing thrown on any text. A file may hold other kinds too
// (a Service beside the Trigger that targets it, as Knative examples do): those are handed back
// in `others` for whoever owns them; only a document that claims eventing.knative.dev/v1 or a
// sources API version (source-manifest.ts) with a kind sluice does not know is a problem here.

export const EVENTING_API = "eventing.knative.dev/v1";

export interface Located<T> {
  file: string;
  line: number;
  manifest: T;
  /** Where a path of this document is, for the problems validate.ts finds. */
  locate(path: readonly PropertyKey[], key?: string): Position;
}

export interface LoadedEventing {
  brokers: Located<BrokerManifest>[];
  triggers: Located<TriggerManifest>[];
  /** KafkaSource, PingSource, GitHubSource, NatsSource. */
  sources: Located<SourceManifest>[];
  sinkBindings: Located<SinkBindingManifest>[];
  /** Documents of other API groups or kinds, untouched, with where they start. */
  others: { file: string; line: number; apiVersion?: unknown; kind?: unknown; value: unknown }[];
  problems: Problem[];
}

const SCHEMAS = { Broker: brokerSchema, Trigger: triggerSchema } as const;

export function loadEventingManifests(text: string, file: string): LoadedEventing {
  const out: LoadedEventing = emptyLoaded();
  const { lines, documents, problems } = readYamlDocuments(text, file);
  out.problems.push(...problems);
  for (const { doc, value, start } of documents) {
    if (!isPlainObject(value)) {
      out.problems.push({
        file,
        path: "",
        ...start,
        message: "expected a mapping with apiVersion, kind, metadata and spec",
      });
      continue;
    }
    const at = (path: readonly PropertyKey[], key?: string) => positionOf(doc, lines, path, key);
    const kind = value.kind;
    const sourceKinds = SOURCE_KINDS[String(value.apiVersion)];
    if (sourceKinds !== undefined) {
      const schema = typeof kind === "string" ? sourceKinds[kind] : undefined;
      if (schema === undefined) {
        out.problems.push({
          file,
          path: "kind",
          ...at(["kind"]),
          message: `${JSON.stringify(kind)} is not a kind sluice serves in ${value.apiVersion} (${Object.keys(sourceKinds).join(", ")})`,
        });
        continue;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) out.problems.push(...schemaProblems(parsed.error.issues, value, at, file));
      else if (kind === "SinkBinding")
        out.sinkBindings.push({
          file,
          line: start.line,
          locate: at,
          manifest: parsed.data as SinkBindingManifest,
        });
      else out.sources.push({ file, line: start.line, locate: at, manifest: parsed.data as SourceManifest });
      continue;
    }
    if (value.apiVersion !== EVENTING_API) {
      out.others.push({ file, line: start.line, apiVersion: value.apiVersion, kind, value });
      continue;
    }
    if (kind !== "Broker" && kind !== "Trigger") {
      out.problems.push({
        file,
        path: "kind",
        ...at(["kind"]),
        message: `${JSON.stringify(kind)} is not a kind sluice serves in ${EVENTING_API} (Broker, Trigger)`,
      });
      continue;
    }
    const parsed = SCHEMAS[kind].safeParse(value);
    if (!parsed.success) {
      out.problems.push(...schemaProblems(parsed.error.issues, value, at, file));
      continue;
    }
    const located = { file, line: start.line, locate: at };
    if (kind === "Broker") out.brokers.push({ ...located, manifest: parsed.data as BrokerManifest });
    else out.triggers.push({ ...located, manifest: parsed.data as TriggerManifest });
  }
  out.problems.sort(byPosition);
  return out;
}

export function emptyLoaded(): LoadedEventing {
  return { brokers: [], triggers: [], sources: [], sinkBindings: [], others: [], problems: [] };
}

/** Adds what `one` file loaded to `all`. */
export function mergeLoaded(all: LoadedEventing, one: LoadedEventing): void {
  all.brokers.push(...one.brokers);
  all.triggers.push(...one.triggers);
  all.sources.push(...one.sources);
  all.sinkBindings.push(...one.sinkBindings);
  all.others.push(...one.others);
  all.problems.push(...one.problems);
}

/** The Eventing documents of several texts, loaded as one input (each problem names its file). */
export function loadEventingTexts(files: readonly { file: string; text: string }[]): LoadedEventing {
  const all = emptyLoaded();
  for (const { file, text } of files) mergeLoaded(all, loadEventingManifests(text, file));
  return all;
}
