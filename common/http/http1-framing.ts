import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { sameHeaderName } from "./header-name.ts";
import { rawResponse, sendPlain } from "./respond.ts";

// What node's HTTP/1 parser (llhttp) lets through but a proxy must not forward, because the hop
// after it may read the message differently (RFC 9112): other protocol versions spoken on an
// HTTP/1 connection (HTTP/0.9 has no headers to frame by; "HTTP/2.0" is not HTTP/1 at all), two
// Host headers (§3.2: 400), and Transfer-Encoding in an HTTP/1.0 request (§6.1: faulty framing).
// The smuggling corpus in test/faults/ holds a case for each.
//
// And what would reach the app addressed differently from how the router routed it: a request
// target in absolute form names its own authority, which overrides Host (RFC 9112 §3.2.2), and an
// HTTP/2 request's :authority overrides its Host (RFC 9113 §8.3.1). Where the two name the same
// host the target is rewritten to origin form, which every hop and app reads the same way; where
// they differ the request is refused. The asterisk form (OPTIONS *) asks about the server itself,
// which no app behind a proxy can answer for: it is refused at the hop.

/** The reason to refuse a request before anything is forwarded, or undefined when it is sound. */
export function http1FramingProblem(req: IncomingMessage): string | undefined {
  const major = req.httpVersionMajor;
  // A real HTTP/2 request (h2c or TLS with ALPN h2) arrives through node's compat layer, with its stream.
  if (major === 2) return "stream" in req ? h2AuthorityProblem(req) : "HTTP/2.0 in an HTTP/1 request line";
  if (major !== 1) return `unsupported HTTP version ${req.httpVersion}`;
  const raw = req.rawHeaders;
  let hosts = 0;
  let transferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // By length first (sameHeaderName): most headers are neither, and this runs on every request.
    if (sameHeaderName(name, "host")) hosts++;
    else if (sameHeaderName(name, "transfer-encoding")) transferEncoding = true;
  }
  if (hosts > 1) return "more than one Host header";
  if (transferEncoding && req.httpVersionMinor === 0) return "Transfer-Encoding in an HTTP/1.0 request";
  return undefined;
}

/** An HTTP/2 request whose Host names another host than its :authority is malformed. */
function h2AuthorityProblem(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  const authority = req.headers[":authority"];
  if (host === undefined || typeof authority !== "string") return undefined;
  if (typeof host !== "string") return "more than one Host header";
  const scheme = req.headers[":scheme"] === "https" ? "https" : "http";
  if (sameAuthority(scheme, authority, host)) return undefined;
  return `Host ${JSON.stringify(host)} differs from :authority ${JSON.stringify(authority)}`;
}

/**
 * Brings the request target to origin form ("/path?query"), rewriting `req.url` for an absolute
 * target whose authority is the request's host, or says why it cannot be forwarded.
 */
export function requestTargetProblem(req: IncomingMessage): string | undefined {
  const url = req.url ?? "/";
  if (url.charCodeAt(0) === 47 /* / */) return undefined; // origin form: nearly every request
  if (url === "*") {
    return req.method === "OPTIONS"
      ? "OPTIONS * asks about the server itself, and is not forwarded"
      : `the target * is for OPTIONS only, not ${req.method}`;
  }
  const scheme = schemeOf(url);
  if (scheme === undefined)
    return `request target ${JSON.stringify(url)} is neither a path nor an http(s) URL`;
  const start = scheme.length + 3; // after "://"
  let end = start;
  while (end < url.length && url.charCodeAt(end) !== 47 && url.charCodeAt(end) !== 63 /* ? */) end++;
  const authority = url.slice(start, end);
  if (authority === "") return `request target ${JSON.stringify(url)} names no host`;
  if (authority.includes("@")) return `request target ${JSON.stringify(url)} carries user information`;
  const host =
    req.httpVersionMajor === 2 ? (req.headers[":authority"] ?? req.headers.host) : req.headers.host;
  if (typeof host !== "string" || !sameAuthority(scheme, authority, host)) {
    return `request target authority ${JSON.stringify(authority)} differs from Host ${JSON.stringify(host ?? "")}`;
  }
  const rest = url.slice(end);
  req.url = rest === "" ? "/" : rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
  return undefined;
}

/** "http" or "https" when `url` starts with that scheme (any case) and "://". */
function schemeOf(url: string): "http" | "https" | undefined {
  const colon = url.indexOf("://");
  if (colon !== 4 && colon !== 5) return undefined;
  const scheme = url.slice(0, colon).toLowerCase();
  return scheme === "http" || scheme === "https" ? scheme : undefined;
}

/** Whether two authorities name the same host and port: case aside, the scheme's port implied. */
function sameAuthority(scheme: "http" | "https", a: string, b: string): boolean {
  return normalAuthority(scheme, a) === normalAuthority(scheme, b);
}

function normalAuthority(scheme: "http" | "https", authority: string): string {
  let value = authority.toLowerCase();
  const implied = scheme === "https" ? ":443" : ":80";
  if (value.endsWith(implied)) value = value.slice(0, -implied.length);
  else if (value.endsWith(":")) value = value.slice(0, -1); // an empty port is the implied one
  return value;
}

/** Every check above, in order: framing (which a hop must not guess at), then the target. */
export function requestProblem(req: IncomingMessage): string | undefined {
  return http1FramingProblem(req) ?? requestTargetProblem(req);
}

/**
 * Wraps a request handler: an unsound request gets 400 naming the problem and, on HTTP/1, its
 * connection is closed (what follows on it cannot be framed with confidence); the handler never
 * sees it. HTTP/2 requests (h2c, or TLS with ALPN h2) pass the same checks that apply to them.
 */
export function refusingUnsoundRequests(
  component: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const problem = requestProblem(req);
    if (problem === undefined) return handler(req, res);
    if (req.httpVersionMajor === 2) return sendPlain(res, 400, `${component}: bad request: ${problem}`);
    res.shouldKeepAlive = false;
    sendPlain(res, 400, `${component}: bad request: ${problem}`, { connection: "close" });
  };
}

/** The same for upgrade requests, answered on the raw socket. */
export function refusingUnsoundUpgrades(
  component: string,
  handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const problem = requestProblem(req);
    if (problem === undefined) return handler(req, socket, head);
    socket.end(rawResponse(400, `${component}: bad request: ${problem}`));
  };
}
