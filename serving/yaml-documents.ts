import { type Document, LineCounter, type Node, parseAllDocuments, visit } from "yaml";
import { type Position, positionOf } from "../common/yaml-position.ts";
import { withoutNulls } from "./absent.ts";
import type { Problem } from "./load.ts";

// The first step of every loader of Knative-shaped YAML (Services in load.ts, Eventing resources
// in eventing/resources/load.ts): a text's documents as plain values, or located problems for the
// ones that are not YAML a Kubernetes API server would take. Never throws on any text.

/** One document the YAML parser read. */
export interface YamlDocument {
  doc: Document;
  /** Its value without null fields (absent, as Kubernetes reads them); never null itself. */
  value: unknown;
  /** Where the document starts. */
  start: Position;
}

export interface YamlDocuments {
  lines: LineCounter;
  documents: YamlDocument[];
  /** Syntax errors, too many aliases, an alias inside the node it names (a cycle). */
  problems: Problem[];
}

/** Aliases a document may expand, against "billion laughs" texts. */
const MAX_ALIASES = 100;

export function readYamlDocuments(text: string, file: string): YamlDocuments {
  const lines = new LineCounter();
  const out: YamlDocuments = { lines, documents: [], problems: [] };
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, merge: true });
  if (!Array.isArray(docs)) {
    out.problems.push({ file, path: "", line: 1, column: 1, message: "no documents found" });
    return out;
  }
  for (const doc of docs) {
    const start = positionOf(doc, lines, []);
    const yamlProblem = (at: Position, message: string) =>
      out.problems.push({ file, path: "", ...at, message: `YAML: ${message.split("\n")[0]}` });
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const { line, col } = lines.linePos(error.pos[0]);
        yamlProblem({ line, column: col }, error.message);
      }
      continue;
    }
    const cycle = cyclicAlias(doc);
    if (cycle !== undefined) {
      const { line, col } = lines.linePos(cycle.range?.[0] ?? 0);
      yamlProblem(
        { line, column: col },
        `alias *${cycle.source} is inside the node it names: a value cannot contain itself`,
      );
      continue;
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (error) {
      yamlProblem(start, (error as Error).message);
      continue;
    }
    if (raw === null || raw === undefined) continue; // an empty document between ---
    out.documents.push({ doc, value: withoutNulls(raw), start });
  }
  return out;
}

/**
 * The first alias that refers to a node it is part of (`&a {self: *a}`): the parser builds a
 * value that contains itself, which no JSON (so no Kubernetes object) can be, and which every
 * walk over it would follow for ever.
 */
function cyclicAlias(doc: Document): (Node & { source: string }) | undefined {
  let found: (Node & { source: string }) | undefined;
  visit(doc, {
    Alias(_key, alias) {
      const target = alias.resolve(doc);
      const [start, , end] = target?.range ?? [];
      const at = alias.range?.[0];
      if (start === undefined || end === undefined || at === undefined) return;
      if (at >= start && at < end) {
        found = alias;
        return visit.BREAK;
      }
    },
  });
  return found;
}
