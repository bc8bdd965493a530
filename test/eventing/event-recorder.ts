// A subscriber for eventing tests: a real HTTP server on 127.0.0.1 that records every CloudEvent
// it gets (binary mode) by path, answers as each path's behaviour says, and lets a test wait for
// a condition instead of sleeping.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Received {
  path: string;
  id: string;
  type: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (ms since the epoch): an event that arrives before its own `time` was mislabelled. */
  receivedAt: number;
}

/** How a path answers: a status, optionally with headers and a body (a reply event). */
export type Behaviour = (event: Received, res: ServerResponse) => void | Promise<void>;

export interface Recorder {
  url: string;
  received: Received[];
  /** Events received at `path` (every attempt, duplicates included). */
  at(path: string): Received[];
  /** Distinct ids received at `path`. */
  ids(path: string): Set<string>;
  on(path: string, behaviour: Behaviour): void;
}

export async function startRecorder(t: Teardown): Promise<Recorder> {
  const behaviours = new Map<string, Behaviour>();
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? "/").split("?", 1)[0];
    const event: Received = {
      path,
      id: String(req.headers["ce-id"] ?? ""),
      type: String(req.headers["ce-type"] ?? ""),
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      receivedAt: Date.now(),
    };
    received.push(event);
    const behaviour = behaviours.get(path);
    if (behaviour) await behaviour(event, res);
    else res.writeHead(202).end();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (path) => received.filter((event) => event.path === path),
    ids: (path) => new Set(received.filter((event) => event.path === path).map((event) => event.id)),
    on: (path, behaviour) => behaviours.set(path, behaviour),
  };
}
