import type { IncomingMessage } from "node:http";
import type { RequestSpan, Tracer } from "../tracing.ts";
import { sameHeaderName } from "./header-name.ts";
import { requestHeader } from "./request-headers.ts";

/**
 * Starts this hop's span for a request when tracing is on and the trace sampled, and makes the
 * upstream request carry it as the parent (replacing the incoming traceparent in `headers`).
 * Tracing off: one property read, nothing else.
 */
export function startRequestSpan(
  tracer: Tracer,
  req: IncomingMessage,
  headers: string[],
  revision: string,
): RequestSpan | undefined {
  if (!tracer.enabled) return undefined;
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const span = tracer.startRequestSpan(requestHeader(req, "traceparent"), req.method ?? "GET", {
    "url.path": query === -1 ? url : url.slice(0, query),
    "server.address": requestHeader(req, "host") ?? requestHeader(req, ":authority") ?? "",
    "sluice.revision": revision,
  });
  if (span === undefined) return undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (sameHeaderName(headers[i], "traceparent")) {
      headers[i + 1] = span.traceparent;
      return span;
    }
  }
  headers.push("traceparent", span.traceparent);
  return span;
}
