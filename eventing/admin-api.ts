import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { stringify } from "yaml";
import { hostAllowed } from "../autoscaler/allowed-host.ts";
import { bearerMatches } from "../autoscaler/bearer-token.ts";
import { sendJson, sendPlain } from "../common/http/respond.ts";
import type { Logger } from "../common/log.ts";
import { byPosition, formatProblem, type Problem } from "../serving/load.ts";
import { canonicalJson } from "../serving/revisions.ts";
import { compileEventing, type EventingSet, type ResolveOptions } from "./resources/compile.ts";
import { emptyLoaded, type LoadedEventing, type Located, loadEventingManifests } from "./resources/load.ts";
import type { SourceManifest } from "./resources/source-manifest.ts";
import { validateEventing } from "./resources/validate.ts";
import { validateSources } from "./resources/validate-sources.ts";

// The eventing admin port's /v1/eventing: GET the status (Brokers' addresses, Triggers' counts),
// PUT Broker, Trigger, source and SinkBinding YAML to add or change them in the running set —
// what `sluice apply` sends. As the autoscaler's PUT /v1/services: the documents are merged into what
// runs (same kind, namespace and name replaces; nothing is deleted), the whole is validated, and
// only a valid whole is applied, at once (EventingRuntime.apply). `?dryRun=1` checks only.
//
// The guard is the autoscaler's (api-guard.ts), in its pieces: with SLUICE_TOKEN set, every
// request needs it (bearer-token.ts, constant time); without one, a PUT must name a loopback Host
// (a web page cannot drive it by DNS rebinding) and YAML or JSON content (no CORS-less form post).

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const CONTENT_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "application/json"];
const MANIFEST = /\.(ya?ml|json)$/;

export interface EventingApiOptions {
  /** EVENTING_FILES: the resources the process started with (the set applies merge into them). */
  files: readonly string[];
  resolve: ResolveOptions;
  /**
   * Serves a new set: the Brokers and Triggers (EventingRuntime.apply), then the sources
   * (SourceRunners.apply: new ones started, changed ones restarted, the rest left running).
   */
  apply: (set: EventingSet, sources: readonly SourceManifest[]) => Promise<void>;
  /** What the manifests cannot show and would stop a source (a GitHubSource's missing secret). */
  checkSources: (sources: readonly SourceManifest[]) => string[];
  /** GET's body. */
  status: () => unknown;
  /** EVENTING_APPLIED_FILE: every applied set is written here (YAML), for a restart to start from. */
  appliedFile?: string;
  /** SLUICE_TOKEN. */
  token?: string;
  log: Logger;
}

export interface AppliedResource {
  kind: string;
  namespace: string;
  name: string;
  change: "created" | "configured" | "unchanged";
}

type Named = Located<{ kind?: string; metadata: { name: string; namespace?: string } }>;

const keyOf = (kind: string, doc: Named) =>
  `${kind} ${doc.manifest.metadata.namespace ?? "default"}/${doc.manifest.metadata.name}`;

/** The route for the admin server (common/http/admin-server.ts routes by path only). */
export function createEventingApi(options: EventingApiOptions) {
  let current = loadPaths(options.files);
  let applying: Promise<unknown> = Promise.resolve();

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = guard(req, options.token);
    if (refusal) return sendPlain(res, refusal.status, refusal.message, refusal.headers);
    if (req.method === "GET") return sendJson(res, 200, options.status());
    if (req.method !== "PUT")
      return sendPlain(res, 405, `${req.method} not allowed on /v1/eventing`, { allow: "GET, PUT" });
    const url = new URL(req.url ?? "/", "http://x");
    const file = url.searchParams.get("file") ?? "request body";
    const dryRun = ["1", "true"].includes(url.searchParams.get("dryRun") ?? "");
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      return sendPlain(res, 413, `eventing: body larger than ${MAX_BODY_BYTES} bytes`, {
        connection: "close",
      });
    }
    // One apply at a time, each merged into what the one before it left.
    const run = applying.then(async () => {
      const result = mergeAndCheck(current, loadEventingManifests(text, file));
      if ("problems" in result)
        return { status: 400, body: { ok: false, problems: result.problems, applied: [] } };
      const sources = result.merged.sources.map((s) => s.manifest);
      const missing = options.checkSources(sources);
      if (missing.length > 0) return { status: 400, body: { ok: false, problems: missing, applied: [] } };
      if (!dryRun) {
        let failed: string | undefined;
        try {
          await options.apply(
            compileEventing(
              result.merged.brokers.map((b) => b.manifest),
              result.merged.triggers.map((t) => t.manifest),
              options.resolve,
            ),
            sources,
          );
        } catch (error) {
          // Valid, so kept (and written: a restart tries again), but something did not start.
          failed = (error as Error).message;
          options.log.error({ file, err: failed }, "eventing resources applied in part");
        }
        current = result.merged;
        if (options.appliedFile) writeApplied(options.appliedFile, current);
        options.log.info(
          { file, applied: result.applied.filter((a) => a.change !== "unchanged") },
          "eventing resources applied",
        );
        if (failed !== undefined)
          return {
            status: 500,
            body: {
              ok: false,
              problems: [`applied, but not all of it runs: ${failed} (apply again to retry)`],
              applied: result.applied,
            },
          };
      }
      return { status: 200, body: { ok: true, dryRun, problems: [], applied: result.applied } };
    });
    applying = run.catch(() => {});
    const answer = await run;
    sendJson(res, answer.status, answer.body);
  };
}

/**
 * `incoming` merged into `current` (same kind, namespace and name replaces), validated as a whole;
 * or every problem, as file:line:col.
 */
export function mergeAndCheck(
  current: LoadedEventing,
  incoming: LoadedEventing,
): { merged: LoadedEventing; applied: AppliedResource[] } | { problems: string[] } {
  const problems: Problem[] = [...incoming.problems];
  const applied: AppliedResource[] = [];
  // `kind` undefined: each document's own (the four source kinds share one list).
  const merge = <T extends Named>(kind: string | undefined, before: T[], next: T[]): T[] => {
    const kindOf = (doc: T) => kind ?? doc.manifest.kind ?? "";
    const out = [...before];
    for (const doc of next) {
      const at = out.findIndex((old) => keyOf(kindOf(old), old) === keyOf(kindOf(doc), doc));
      const change =
        at === -1
          ? "created"
          : canonicalJson(out[at].manifest) === canonicalJson(doc.manifest)
            ? "unchanged"
            : "configured";
      if (at === -1) out.push(doc);
      else out[at] = doc;
      applied.push({
        kind: kindOf(doc),
        namespace: doc.manifest.metadata.namespace ?? "default",
        name: doc.manifest.metadata.name,
        change,
      });
    }
    return out;
  };
  const merged: LoadedEventing = {
    ...emptyLoaded(),
    brokers: merge("Broker", current.brokers, incoming.brokers),
    triggers: merge("Trigger", current.triggers, incoming.triggers),
    sinkBindings: merge("SinkBinding", current.sinkBindings, incoming.sinkBindings),
    sources: merge(undefined, current.sources, incoming.sources),
  };
  if (problems.length === 0) problems.push(...validateEventing(merged), ...validateSources(merged));
  if (problems.length > 0) return { problems: problems.sort(byPosition).map(formatProblem) };
  return { merged, applied };
}

/** The start-up resources again, as located documents (main.ts has compiled them already). */
function loadPaths(paths: readonly string[]): LoadedEventing {
  const all = emptyLoaded();
  for (const file of paths.flatMap(expand)) {
    let loaded: LoadedEventing;
    try {
      loaded = loadEventingManifests(readFileSync(file, "utf8"), file);
    } catch {
      continue; // main.ts refused to start on an unreadable file already
    }
    all.brokers.push(...loaded.brokers);
    all.triggers.push(...loaded.triggers);
    all.sources.push(...loaded.sources);
    all.sinkBindings.push(...loaded.sinkBindings);
  }
  return all;
}

function expand(path: string): string[] {
  try {
    if (!statSync(path).isDirectory()) return [path];
  } catch {
    return [path];
  }
  return readdirSync(path)
    .filter((name) => MANIFEST.test(name))
    .sort()
    .map((name) => join(path, name));
}

/** What runs, as one YAML stream, written atomically. */
function writeApplied(path: string, loaded: LoadedEventing): void {
  const docs = [...loaded.brokers, ...loaded.triggers, ...loaded.sources, ...loaded.sinkBindings].map((d) =>
    stringify(d.manifest),
  );
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(
    temporary,
    `# Written by the eventing process on each PUT /v1/eventing: what runs.\n${docs.join("---\n")}`,
  );
  renameSync(temporary, path);
}

function guard(
  req: IncomingMessage,
  token: string | undefined,
): { status: number; message: string; headers?: Record<string, string> } | undefined {
  if (token !== undefined) {
    if (!bearerMatches(req.headers.authorization, token))
      return {
        status: 401,
        message: `eventing: ${req.headers.authorization ? "wrong" : "missing"} bearer token: send Authorization: Bearer $SLUICE_TOKEN`,
        headers: { "www-authenticate": 'Bearer realm="sluice"' },
      };
  } else if (req.method !== "GET" && !hostAllowed(req.headers.host, [])) {
    return {
      status: 403,
      message: `eventing: refusing Host ${JSON.stringify(req.headers.host ?? "")}: without SLUICE_TOKEN, writes are taken only from localhost, 127.0.0.1, [::1]`,
    };
  }
  if (req.method === "PUT") {
    const type = req.headers["content-type"]?.split(";", 1)[0].trim().toLowerCase();
    if (type === undefined || !CONTENT_TYPES.includes(type))
      return {
        status: 415,
        message: `eventing: PUT /v1/eventing takes Content-Type ${CONTENT_TYPES.join(", ")}; got ${type ?? "none"}`,
        headers: { connection: "close" },
      };
  }
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
