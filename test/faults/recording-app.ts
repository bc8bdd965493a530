// An upstream app that records everything it is sent, for the smuggling corpus: the raw bytes of
// every connection, every request node's strict parser made of them (whole or cut short), and
// every parse error. Serves on $PORT (0 = free); answers the recording on a separate control port
// so that reading it adds nothing. Answers the activator's K-Network-Probe like a queue-proxy.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { replayingDuplex } from "./replaying-duplex.ts";

export interface RecordedRequest {
  connection: number;
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  /** latin1 */
  body: string;
  /** The request's body arrived whole (node's parser reached its end). */
  complete: boolean;
  probe: boolean;
}

export interface Recording {
  connections: { id: number; raw: string; closed: boolean }[];
  requests: RecordedRequest[];
  parseErrors: { connection: number; code: string }[];
}

const MAX_RAW = 256 * 1024;
const recording: Recording = { connections: [], requests: [], parseErrors: [] };
const connectionIds = new WeakMap<object, number>();

/** The socket as a plain Duplex, so node's HTTP server reads through JavaScript and we see every byte. */
function tapped(socket: Socket, record: Recording["connections"][number]): Duplex {
  socket.on("data", (chunk: Buffer) => {
    if (record.raw.length < MAX_RAW) record.raw += chunk.toString("latin1");
  });
  socket.on("close", () => {
    record.closed = true;
  });
  return replayingDuplex(socket);
}

const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
  const probe = req.headers["k-network-probe"] !== undefined;
  const entry: RecordedRequest = {
    connection: connectionIds.get(req.socket) ?? -1,
    method: req.method ?? "",
    url: req.url ?? "",
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
    body: "",
    complete: false,
    probe,
  };
  recording.requests.push(entry);
  req.on("data", (chunk: Buffer) => {
    if (entry.body.length < MAX_RAW) entry.body += chunk.toString("latin1");
  });
  req.on("end", () => {
    entry.complete = true;
    if (probe) {
      res.end("queue");
      return;
    }
    res.setHeader("content-type", "text/plain");
    res.end(`recorded ${entry.method} ${entry.url}\n`);
  });
});
http.on("clientError", (error: NodeJS.ErrnoException, socket) => {
  recording.parseErrors.push({ connection: connectionIds.get(socket) ?? -1, code: error.code ?? "unknown" });
  socket.destroy();
});

const data = createNetServer((socket) => {
  const record = { id: recording.connections.length, raw: "", closed: false };
  recording.connections.push(record);
  const duplex = tapped(socket, record);
  connectionIds.set(duplex, record.id);
  http.emit("connection", duplex);
});

const control = createHttpServer((req, res) => {
  if (req.url === "/recording") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(recording));
    return;
  }
  res.statusCode = 404;
  res.end();
});

const listen = (
  server: { listen: (port: number, host: string, cb: () => void) => void; address(): unknown },
  port: number,
) =>
  new Promise<number>((resolve) =>
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );

const port = await listen(data, Number(process.env.PORT ?? 0));
const controlPort = await listen(control, 0);
process.send?.({ type: "listening", port, controlPort });
process.on("SIGTERM", () => process.exit(0));
