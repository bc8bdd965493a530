import type { z } from "zod";
import { type Position, positionOf } from "../common/yaml-position.ts";
import { isPlainObject } from "./absent.ts";
import { draftOf, type ServiceDraft } from "./draft.ts";
import { type ServiceManifest, serviceSchema } from "./manifest.ts";
import { readYamlDocuments } from "./yaml-documents.ts";

/** One thing wrong with an input, with where it is. */
export interface Problem {
  file: string;
  /** Document path, e.g. spec.template.spec.containers[0].image ("" for the whole document). */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export type { Position } from "../common/yaml-position.ts";

/** One Service document, whether or not the schema accepted it. */
export interface LoadedDocument {
  file: string;
  /** The line the document starts on. */
  line: number;
  /** The document without null fields and without what the schema rejected: what later checks read. */
  draft: ServiceDraft;
  /** The whole document, typed, when the schema accepted it. */
  manifest?: ServiceManifest;
  /** Where a path of this document is in its file, for problems found later (semantic checks). */
  locate(path: readonly PropertyKey[], key?: string): Position;
  /**
   * Whether the schema rejected a value at `path`, inside it or around it: a check that reads it
   * would judge a value the user did not write (e.g. a traffic sum without a malformed percent).
   */
  rejected(path: readonly PropertyKey[]): boolean;
}

/** A document the schema accepted. */
export interface LoadedService extends LoadedDocument {
  manifest: ServiceManifest;
}

export interface Loaded {
  /** Every Service document, for the checks after the schema (validateServices). */
  documents: LoadedDocument[];
  /** The documents the schema accepted. */
  services: LoadedService[];
  /** YAML and schema problems, in reading order. */
  problems: Problem[];
}

export function formatProblem(problem: Problem): string {
  const where =
    problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.path === "" ? "" : `${problem.path}: `}${problem.message}`;
}

/**
 * A document path as problems show it: `spec.traffic[0].tag`, with a map key that is not a plain
 * word in brackets: `spec.template.metadata.annotations["autoscaling.knative.dev/window"]`.
 * `key`, when given, is one more part (the key of a map entry).
 */
export function formatPath(path: readonly PropertyKey[], key?: string): string {
  let out = "";
  for (const part of key === undefined ? path : [...path, key]) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && PLAIN_KEY.test(part)) out += `${out === "" ? "" : "."}${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Reading order: by line, then column (problems without a position first). */
export function byPosition(a: Problem, b: Problem): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let here = value;
  for (const key of path) {
    if (Array.isArray(here) && typeof key === "number") here = here[key];
    else if (isPlainObject(here) && typeof key === "string" && Object.hasOwn(here, key)) here = here[key];
    else return undefined;
  }
  return here;
}

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => path[i] === part);
}

const IDENTITY = new Set<PropertyKey>(["apiVersion", "kind"]);
/** Every kind the files may hold; Eventing's (eventing/resources/load.ts) never reach here. */
const KINDS_TAKEN =
  "Service (serving.knative.dev/v1); Broker, Trigger (eventing.knative.dev/v1); KafkaSource, PingSource, " +
  "SinkBinding (sources.knative.dev/v1); GitHubSource (sources.knative.dev/v1alpha1); NatsSource (sources.sluice.dev/v1)";

/**
 * Loads every Service in a YAML (or JSON) text of one or more documents. A field set to null is
 * absent (as in Kubernetes). Every schema problem comes back with its file, path, line and
 * column, and every document (accepted or not) goes on to the later checks, so one pass reports
 * everything; callers decide whether one problem rejects the whole input (apply does). A document
 * that is something else than a Knative Service (another apiVersion or kind) is reported as such
 * and not checked further. Never throws on any text.
 */
export function loadManifests(text: string, file: string): Loaded {
  const { lines, documents: docs, problems } = readYamlDocuments(text, file);
  const documents: LoadedDocument[] = [];
  for (const { doc, value, start } of docs) {
    if (!isPlainObject(value)) {
      problems.push({
        file,
        path: "",
        ...start,
        message: "expected a Service: a mapping with apiVersion, kind, metadata and spec",
      });
      continue;
    }
    const parsed = serviceSchema.safeParse(value);
    const issues = parsed.success ? [] : parsed.error.issues;
    const at = (path: readonly PropertyKey[], key?: string) => positionOf(doc, lines, path, key);
    // Another kind of object: its fields would all be "unknown"; say what it is and stop there.
    const foreign = issues.filter(
      (issue) =>
        issue.path.length === 1 && IDENTITY.has(issue.path[0]) && valueAt(value, issue.path) !== undefined,
    );
    if (foreign.length > 0) {
      const { apiVersion, kind } = value;
      // Another known kind of object (a Deployment, Knative's Sequence or Channel): one line saying
      // what it is and what sluice takes, not "must be" twice. A Service of another group keeps
      // the apiVersion's own problem.
      if (typeof apiVersion === "string" && typeof kind === "string" && kind !== "Service")
        problems.push({
          file,
          path: "kind",
          ...at(["kind"]),
          message: `${JSON.stringify(kind)} (${apiVersion}) is not a kind sluice takes: ${KINDS_TAKEN}`,
        });
      else problems.push(...schemaProblems(foreign, value, at, file));
      continue;
    }
    problems.push(...schemaProblems(issues, value, at, file));
    const rejectedPaths = issues
      .filter((issue) => issue.code !== "unrecognized_keys")
      .map((issue) => issue.path);
    documents.push({
      file,
      line: start.line,
      draft: parsed.success ? parsed.data : draftOf(value, rejectedPaths),
      ...(parsed.success ? { manifest: parsed.data } : {}),
      locate: at,
      rejected: (path) => rejectedPaths.some((bad) => startsWith(path, bad) || startsWith(bad, path)),
    });
  }
  if (documents.length === 0 && problems.length === 0)
    problems.push({ file, path: "", line: 1, column: 1, message: "no Service documents found" });
  problems.sort(byPosition);
  const services = documents.filter((document): document is LoadedService => document.manifest !== undefined);
  return { documents, services, problems };
}

/**
 * A schema's issues as problems at their YAML positions: unknown fields named, a missing required
 * field said as such, an unquoted number or boolean where a string belongs told to be quoted.
 * Shared by every loader of Knative-shaped YAML (Services here, Eventing resources).
 */
export function schemaProblems(
  issues: readonly z.core.$ZodIssue[],
  value: unknown,
  at: (path: readonly PropertyKey[], key?: string) => Position,
  file: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        problems.push({
          file,
          path: formatPath([...issue.path, key]),
          ...at(issue.path, key),
          message: "unknown field",
        });
      continue;
    }
    const found = valueAt(value, issue.path);
    let message = issue.message;
    if (issue.code === "invalid_type" && found === undefined) message = "required field is missing";
    // The classic: an unquoted number or boolean where Kubernetes wants a string (annotations).
    else if (
      issue.code === "invalid_type" &&
      issue.expected === "string" &&
      /^(number|boolean)$/.test(typeof found)
    )
      message = `expected a string, got ${typeof found} ${String(found)}: quote it ("${String(found)}")`;
    problems.push({ file, path: formatPath(issue.path), ...at(issue.path), message });
  }
  return problems;
}
