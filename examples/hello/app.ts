// The example app: plain node:http, no dependencies. Listens on $PORT (the workload contract),
// greets with its revision, can sleep and stream, logs one line per request to stdout (see
// `sluice logs`), and on SIGTERM finishes what it is serving before it exits.
//
//   GET /                    Hello from hello-00001 (v1)
//   GET /?sleep=500          the same, after 500 ms (also /sleep?ms=500); at most 60 s
//   GET /stream?n=20         20 lines, one every 100 ms (Server-Sent Events with Accept: text/event-stream)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

const MAX_SLEEP_MS = 60_000;
const MAX_LINES = 600;
const LINE_EVERY_MS = 100;
/** After SIGTERM, requests still running get this long before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 70_000;

const revision = process.env.K_REVISION ?? "hello";
const target = process.env.TARGET || "World";
const greeting = `Hello from ${revision} (${target})`;

/** An integer query parameter in [min, max], its default when absent, or a message saying why not. */
function intParam(url: URL, name: string, fallback: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value) || value < min || value > max)
    return `${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`;
  return value;
}

function badRequest(res: ServerResponse, message: string): void {
  res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
  res.end(`${message}\n`);
}

/** Answers the greeting after `ms`; a client that goes away cancels the wait. */
function greet(res: ServerResponse, ms: number): void {
  const answer = () => {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(ms > 0 ? `${greeting} after ${ms} ms\n` : `${greeting}\n`);
  };
  if (ms === 0) {
    answer();
    return;
  }
  const timer = setTimeout(answer, ms);
  res.once("close", () => clearTimeout(timer));
}

/** `lines` lines, one every 100 ms, as plain text or Server-Sent Events. */
function stream(req: IncomingMessage, res: ServerResponse, lines: number): void {
  const sse = (req.headers.accept ?? "").includes("text/event-stream");
  res.writeHead(200, {
    "content-type": sse ? "text/event-stream" : "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  let sent = 0;
  const next = () => {
    sent++;
    const line = `${sent}/${lines} from ${revision}`;
    res.write(sse ? `id: ${sent}\ndata: ${line}\n\n` : `${line}\n`);
    if (sent >= lines) {
      clearInterval(timer);
      res.end();
    }
  };
  const timer = setInterval(next, LINE_EVERY_MS);
  res.once("close", () => clearInterval(timer));
  next();
}

let stopping = false;

const server = createServer((req, res) => {
  const started = Date.now();
  const url = new URL(req.url ?? "/", "http://hello");
  if (stopping) res.setHeader("connection", "close");
  res.once("close", () => {
    const outcome = res.writableFinished ? res.statusCode : `${res.statusCode} (client went away)`;
    console.log(`${req.method} ${req.url} ${outcome} ${Date.now() - started}ms`);
    // Stopping: a keep-alive connection that has just become idle would hold the exit back.
    if (stopping) setImmediate(() => server.closeIdleConnections());
  });
  switch (url.pathname) {
    case "/":
    case "/sleep": {
      const ms = intParam(url, url.pathname === "/sleep" ? "ms" : "sleep", 0, 0, MAX_SLEEP_MS);
      return typeof ms === "string" ? badRequest(res, ms) : greet(res, ms);
    }
    case "/stream": {
      const lines = intParam(url, "n", 10, 1, MAX_LINES);
      return typeof lines === "string" ? badRequest(res, lines) : stream(req, res, lines);
    }
    default:
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end(`no page ${url.pathname}; try /, /?sleep=500 or /stream?n=20\n`);
  }
});

server.listen(Number(process.env.PORT ?? 8080), () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : process.env.PORT;
  console.log(`${revision} listening on port ${port} (TARGET=${target})`);
});

// Graceful stop: no new connections, idle keep-alive connections closed, running requests finish.
process.once("SIGTERM", () => {
  stopping = true;
  console.log(`${revision} stopping: finishing requests in flight`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
});
