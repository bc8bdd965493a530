// The app behind the differential test (raw-differential.test.ts): records every request as node's
// strict parser read it (method, target, version, raw headers, body, trailers, whether it ended)
// and answers by the first path segment after /d/: a fixed length, chunks, trailers, 204/304,
// a body delimited by the close, early hints, an echo of the request body, a cut-off body.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface Seen {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  body: string;
  trailers: string[];
  complete: boolean;
}

const answers: Record<
  string,
  (req: IncomingMessage, res: ServerResponse, arg: number, body: Buffer) => void
> = {
  len: (_req, res, n) => {
    res.setHeader("content-length", n);
    res.end(Buffer.alloc(n, "a"));
  },
  chunked: (_req, res, n) => {
    for (let i = 0; i < n; i++) res.write(`piece ${i};`);
    res.end();
  },
  trailers: (_req, res) => {
    res.setHeader("trailer", "x-checksum");
    res.write("with trailers");
    res.addTrailers({ "x-checksum": "c0ffee" });
    res.end();
  },
  status: (_req, res, n) => {
    res.statusCode = n;
    if (n === 304) res.setHeader("etag", '"v1"');
    res.end();
  },
  close: (_req, res) => {
    // No length and no chunks: the body runs to the close.
    res.useChunkedEncodingByDefault = false;
    res.write("until the close");
    res.end();
  },
  hints: (_req, res) => {
    res.writeEarlyHints({ link: "</style.css>; rel=preload" });
    res.setHeader("content-length", 2);
    res.end("ok");
  },
  echo: (_req, res, _n, body) => {
    res.setHeader("content-type", "application/octet-stream");
    res.setHeader("content-length", body.length);
    res.end(body);
  },
  cookies: (_req, res) => {
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.setHeader("x-multi", ["one", "two"]);
    res.end("cookies");
  },
  cut: (req, res) => {
    res.setHeader("content-length", 1000);
    res.write("only part of it");
    setImmediate(() => req.socket.destroy());
  },
};

export function startDifferentialApp(): Promise<{ port: number; seen: Seen[]; close(): void }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    // The activator's readiness probe, answered as a queue-proxy would; not part of the corpus.
    if (req.headers["k-network-probe"] !== undefined) {
      res.end("queue");
      return;
    }
    const entry: Seen = {
      method: req.method ?? "",
      url: req.url ?? "",
      httpVersion: req.httpVersion,
      rawHeaders: req.rawHeaders,
      body: "",
      trailers: [],
      complete: false,
    };
    seen.push(entry);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      entry.body = body.toString("latin1");
      entry.trailers = req.rawTrailers;
      entry.complete = true;
      const [, , kind = "len", arg = "0"] = (req.url ?? "").split("?")[0].split("/");
      (answers[kind] ?? answers.len)(req, res, Number(arg), body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        port,
        seen,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
    });
  });
}
