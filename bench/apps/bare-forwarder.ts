// The floor for a Node proxy: the fastest forwarder we know how to write with node:http and
// undici's dispatch API, with nothing else (no limits, stats, timeouts or metrics). The
// queue-proxy, activator and router are measured against it. Self-contained on purpose, so the
// floor does not move when sluice's own HTTP code changes.
//
// PORT (0 = any; reported over IPC when there is a channel), UPSTREAM_PORT (on 127.0.0.1).
//
// What makes it fast, each measured against the previous version (interleaved rounds, wrk):
// - one handler object per request (a class, no closures), and no property added to node's
//   ServerResponse (which would change its hidden class); undici hands the controller to each call;
// - a body whose last byte arrives in a chunk (content-length known) goes out with res.end(chunk):
//   headers and body in one write, no extra cork/uncork tick; streamed bodies are not delayed;
// - no per-request timers: undici's headers/body timeouts are off and the server has no
//   keep-alive or request timeout (each of those arms or refreshes a timer per request);
// - undici's Pool loaded by file, not the package index (fetch, WebSocket, cache: ~14 MB RSS).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Dispatcher, Pool as PoolType } from "undici";

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler["onRequestStart"]>>[0];
type Headers = Record<string, string | string[] | undefined>;

const require = createRequire(import.meta.url);
const Pool = require("undici/lib/dispatcher/pool.js") as typeof PoolType;

const upstream = new Pool(`http://127.0.0.1:${process.env.UPSTREAM_PORT}`, {
  connections: null, // one upstream connection per concurrent request, as many as the load needs
  pipelining: 1,
  keepAliveTimeout: 60_000,
  headersTimeout: 0,
  bodyTimeout: 0,
});

// RFC 9110 §7.6.1, plus the ones undici refuses in a request (expect, upgrade).
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "transfer-encoding",
  "upgrade",
  "expect",
  "http2-settings",
]);

class Forward implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse;
  /** Body bytes still to come when the app sent content-length, else -1. */
  remaining = -1;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  onRequestStart(): void {}

  onResponseStart(_controller: Controller, status: number, headers: Headers): void {
    const out: string[] = [];
    for (const name in headers) {
      if (HOP_BY_HOP.has(name)) continue;
      const value = headers[name];
      if (typeof value === "string") out.push(name, value);
      else if (value !== undefined) for (const item of value) out.push(name, item);
    }
    const length = headers["content-length"];
    if (typeof length === "string") this.remaining = Number(length);
    this.res.writeHead(status, out);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.remaining -= chunk.length;
    if (this.remaining === 0) {
      this.res.end(chunk);
      return;
    }
    if (!this.res.write(chunk)) waitForDrain(this.res, controller);
  }

  onResponseEnd(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  onResponseError(_controller: Controller, error: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else {
      this.res.statusCode = 502;
      this.res.end(`bare-forwarder: ${error.message}`);
    }
  }
}

/** Backpressure (the rare path, closures are fine): resume on drain, cancel if the client left. */
function waitForDrain(res: ServerResponse, controller: Controller): void {
  if (res.destroyed) {
    controller.abort(new Error("client closed"));
    return;
  }
  const resume = () => {
    res.off("close", cancel);
    controller.resume();
  };
  const cancel = () => {
    res.off("drain", resume);
    controller.abort(new Error("client closed"));
  };
  controller.pause();
  res.once("drain", resume);
  res.once("close", cancel);
}

function forward(req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === "transfer-encoding") hasBody = true;
      continue;
    }
    if (lower === "content-length" && raw[i + 1] !== "0") hasBody = true;
    headers.push(raw[i], raw[i + 1]);
  }
  const handler = new Forward(res);
  upstream.dispatch(
    {
      path: req.url as string,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
    },
    handler,
  );
}

const server = createServer({ keepAliveTimeout: 0, requestTimeout: 0 }, forward);
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
