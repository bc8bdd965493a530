import {
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  type Node,
  parseAllDocuments,
} from "yaml";
import type { z } from "zod";
import { type ServiceManifest, serviceSchema } from "./manifest.ts";

/** One thing wrong with an input, with where it is. */
export interface Problem {
  file: string;
  /** Document path, e.g. spec.template.spec.containers[0].image ("" for the whole document). */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export interface LoadedService {
  manifest: ServiceManifest;
  file: string;
  line: number;
  /** Where a path of this document is in its file, for problems found later (semantic checks). */
  locate(path: readonly PropertyKey[], key?: string): { line?: number; column?: number };
}

export function formatProblem(problem: Problem): string {
  const where =
    problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.path === "" ? "" : `${problem.path}: `}${problem.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path)
    out += typeof part === "number" ? `[${part}]` : `${out === "" ? "" : "."}${String(part)}`;
  return out;
}

/** The source position of `path` in a YAML document (the key itself for an unknown field). */
function positionOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key?: string) {
  let node: unknown = doc.getIn(path as (string | number)[], true);
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
    if (pair && isNode(pair.key)) node = pair.key;
  }
  // A missing field: point at the nearest parent that exists.
  for (let depth = path.length - 1; !isNode(node) && depth >= 0; depth--)
    node = doc.getIn(path.slice(0, depth) as never, true);
  const range = isNode(node) ? (node as Node).range : doc.contents?.range;
  if (!range) return {};
  const { line, col } = lines.linePos(range[0]);
  return { line, column: col };
}

function zodProblems(issues: z.core.$ZodIssue[], doc: Document, lines: LineCounter, file: string): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({
          file,
          path: formatPath([...issue.path, key]),
          ...positionOf(doc, lines, issue.path, key),
          message: "unknown field",
        });
      }
      continue;
    }
    const found = doc.getIn(issue.path as (string | number)[]);
    const message =
      issue.code === "invalid_type" && found === undefined ? "required field is missing" : issue.message;
    problems.push({ file, path: formatPath(issue.path), ...positionOf(doc, lines, issue.path), message });
  }
  return problems;
}

/**
 * Loads every Service in a YAML (or JSON) text of one or more documents. Each problem comes back
 * with its file, path, line and column; valid documents are returned even when others fail, and
 * callers decide whether one problem rejects the whole input (apply does).
 */
export function loadManifests(
  text: string,
  file: string,
): { services: LoadedService[]; problems: Problem[] } {
  const lines = new LineCounter();
  const services: LoadedService[] = [];
  const problems: Problem[] = [];
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs))
    return { services, problems: [{ file, path: "", message: "no documents found" }] };
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const { line, col } = lines.linePos(error.pos[0]);
        problems.push({
          file,
          path: "",
          line,
          column: col,
          message: `YAML: ${error.message.split("\n")[0]}`,
        });
      }
      continue;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // an empty document between ---
    const start = doc.contents?.range?.[0] ?? 0;
    const parsed = serviceSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error.issues, doc, lines, file));
      continue;
    }
    services.push({
      manifest: parsed.data,
      file,
      line: lines.linePos(start).line,
      locate: (path, key) => positionOf(doc, lines, path, key),
    });
  }
  if (services.length === 0 && problems.length === 0)
    problems.push({ file, path: "", message: "no Service documents found" });
  return { services, problems };
}
