import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { sendPlain } from "./respond.ts";
import { rawResponse } from "./tunnel.ts";

// What node's HTTP/1 parser (llhttp) lets through but a proxy must not forward, because the hop
// after it may read the message differently (RFC 9112): other protocol versions spoken on an
// HTTP/1 connection (HTTP/0.9 has no headers to frame by; "HTTP/2.0" is not HTTP/1 at all), two
// Host headers (§3.2: 400), and Transfer-Encoding in an HTTP/1.0 request (§6.1: faulty framing).
// The smuggling corpus in test/faults/ holds a case for each.

/** The reason to refuse a request before anything is forwarded, or undefined when it is sound. */
export function http1FramingProblem(req: IncomingMessage): string | undefined {
  const major = req.httpVersionMajor;
  // A real HTTP/2 request (h2c or TLS with ALPN h2) arrives through node's compat layer, with its stream.
  if (major === 2) return "stream" in req ? undefined : "HTTP/2.0 in an HTTP/1 request line";
  if (major !== 1) return `unsupported HTTP version ${req.httpVersion}`;
  const raw = req.rawHeaders;
  let hosts = 0;
  let transferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // Length first: most headers are neither, and this runs on every request.
    if (name.length === 4 && name.toLowerCase() === "host") hosts++;
    else if (name.length === 17 && name.toLowerCase() === "transfer-encoding") transferEncoding = true;
  }
  if (hosts > 1) return "more than one Host header";
  if (transferEncoding && req.httpVersionMinor === 0) return "Transfer-Encoding in an HTTP/1.0 request";
  return undefined;
}

/**
 * Wraps a request handler: an unsound request gets 400 naming the problem and its connection is
 * closed (what follows on it cannot be framed with confidence); the handler never sees it.
 */
export function refusingUnsoundRequests(
  component: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const problem = http1FramingProblem(req);
    if (problem === undefined) return handler(req, res);
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
    const problem = http1FramingProblem(req);
    if (problem === undefined) return handler(req, socket, head);
    socket.end(rawResponse(400, "Bad Request", `${component}: bad request: ${problem}`));
  };
}
