import type { IncomingMessage, ServerResponse } from "node:http";
import { sendPlain } from "../common/http/respond.ts";
import type { LogFilter, LogLine } from "../platform/platform.ts";
import type { ServiceManifest } from "../serving/manifest.ts";
import type { StreamSlots } from "./stream-slots.ts";

/** While a follower has this much unsent, new lines are dropped (and counted) instead of queued. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** What GET /v1/logs needs from the controller. */
export interface LogSource {
  services(): { manifest: ServiceManifest; revisions: string[] }[];
  /** The platform's pod output, or undefined when the platform keeps none. */
  logs():
    | { recent(filter: LogFilter): LogLine[]; follow(listener: (line: LogLine) => void): () => void }
    | undefined;
}

function formatLine(line: LogLine): string {
  return `[${line.pod}] ${line.text}\n`;
}

function serviceName(manifest: ServiceManifest): string {
  const namespace = manifest.metadata.namespace ?? "default";
  return namespace === "default" ? manifest.metadata.name : `${namespace}/${manifest.metadata.name}`;
}

/**
 * Works out which pods' output a query asks for: a service (in a namespace, default "default"),
 * one revision, or everything. A string is the reason it cannot (a 404's body).
 */
function resolveFilter(query: URLSearchParams, source: LogSource): LogFilter | string {
  const services = source.services();
  const known = () =>
    services.length === 0
      ? "there are no services yet"
      : `known services: ${services.map((s) => serviceName(s.manifest)).join(", ")}`;
  const name = query.get("service") || undefined;
  const namespace = query.get("namespace") || "default";
  const revision = query.get("revision") || undefined;
  if (name === undefined) {
    if (revision === undefined) return {};
    // Revision names are unique within a namespace only.
    const owner = services.find(
      (s) => (s.manifest.metadata.namespace ?? "default") === namespace && s.revisions.includes(revision),
    );
    if (!owner)
      return `no revision ${namespace === "default" ? revision : `${namespace}/${revision}`}; ${known()}`;
    return { namespace, revision };
  }
  const service = services.find(
    (s) => s.manifest.metadata.name === name && (s.manifest.metadata.namespace ?? "default") === namespace,
  );
  if (!service) {
    const where = namespace === "default" ? name : `${namespace}/${name}`;
    return `no service ${where}; ${known()}`;
  }
  if (revision !== undefined && !service.revisions.includes(revision))
    return `service ${serviceName(service.manifest)} has no revision ${revision}; its revisions: ${service.revisions.join(", ")}`;
  return { namespace, service: name, ...(revision ? { revision } : {}) };
}

function matches(line: LogLine, filter: LogFilter): boolean {
  return (
    (filter.namespace === undefined || line.namespace === filter.namespace) &&
    (filter.service === undefined || line.service === filter.service) &&
    (filter.revision === undefined || line.revision === filter.revision)
  );
}

/**
 * GET /v1/logs?service=&namespace=&revision=&tail=&follow=1 — the pods' output as plain text, one
 * line per output line, prefixed with its pod: `[hello-00001-001] listening on 8080`. First the
 * recent lines the platform keeps (the last `tail`), oldest first across pods; with `follow=1` the
 * response then stays open and carries each new line as it comes, while one of `followers` is free.
 * A follower that reads too slowly loses lines (and is told how many), never grows a buffer.
 */
export function serveLogs(
  req: IncomingMessage,
  res: ServerResponse,
  source: LogSource,
  followers: StreamSlots,
): void {
  const query = new URL(req.url ?? "/", "http://x").searchParams;
  const tailText = query.get("tail");
  const tail = tailText === null || tailText === "" ? undefined : Number(tailText);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
    sendPlain(res, 400, `logs: tail must be a whole number >= 0, got ${JSON.stringify(tailText)}`);
    return;
  }
  const follow = ["1", "true"].includes(query.get("follow") ?? "");
  const filter = resolveFilter(query, source);
  if (typeof filter === "string") {
    sendPlain(res, 404, `logs: ${filter}`);
    return;
  }
  const logs = source.logs();
  if (!logs) {
    sendPlain(res, 501, "logs: this platform keeps no pod output");
    return;
  }
  if (follow && !followers.take(res)) {
    sendPlain(
      res,
      503,
      `logs: too many followers (${followers.max}, AUTOSCALER_MAX_LOG_FOLLOWERS); retry later or leave out follow`,
      { "retry-after": "5" },
    );
    return;
  }

  res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  // Subscribe before reading the recent lines: nothing falls in between (one synchronous turn).
  let last = 0;
  let dropped = 0;
  const stop = follow
    ? logs.follow((line) => {
        if (line.seq <= last || !matches(line, filter)) return;
        last = line.seq;
        if (res.writableLength > MAX_UNSENT_BYTES) {
          dropped++;
          return;
        }
        if (dropped > 0) {
          res.write(`[sluice] ${dropped} lines dropped: the client reads more slowly than the pods write\n`);
          dropped = 0;
        }
        res.write(formatLine(line));
      })
    : undefined;
  const recent = logs.recent(filter);
  const shown = tail === undefined ? recent : recent.slice(Math.max(0, recent.length - tail));
  if (recent.length > 0) last = recent[recent.length - 1].seq;
  if (shown.length > 0) res.write(shown.map(formatLine).join(""));
  if (!stop) {
    res.end();
    return;
  }
  res.flushHeaders();
  res.once("close", stop);
}
