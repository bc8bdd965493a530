// The shared listener limits: parsing, and what a data-plane listener does with them, on a real
// listener on an OS-assigned loopback port (the components' own tests cover their processes).
import { connect as connectH2, createSecureServer } from "node:http2";
import type { Socket } from "node:net";
import t from "tap";
import { EnvReader } from "../../common/env.ts";
import { RefusalBursts } from "../../common/http/connection-cap.ts";
import { createDataListener } from "../../common/http/data-listener.ts";
import {
  adminLimits,
  applyHttp1Limits,
  DEFAULT_LIMITS,
  http1Options,
  http2Options,
  type ListenerLimits,
  readListenerLimits,
} from "../../common/http/listener-limits.ts";
import { sendPlain } from "../../common/http/respond.ts";
import { isWebSocketUpgrade } from "../../common/http/websocket-upgrade.ts";
import type { Logger } from "../../common/log.ts";
import { waitFor } from "../helpers/processes.ts";
import { openSocket } from "../helpers/raw-http.ts";
import { rawParser } from "../helpers/raw-parser.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

t.test("readListenerLimits: defaults, the component's prefix, and every bad value named", async (t) => {
  t.same(readListenerLimits(new EnvReader("x", {}), "ROUTER"), DEFAULT_LIMITS);
  const limits = readListenerLimits(
    new EnvReader("x", {
      QUEUE_HEADERS_TIMEOUT_SECONDS: "2.5",
      QUEUE_KEEP_ALIVE_TIMEOUT_SECONDS: "7",
      QUEUE_MAX_CONNECTIONS: "0",
      QUEUE_MAX_HEADER_BYTES: "8192",
      QUEUE_H2_MAX_CONCURRENT_STREAMS: "10",
      QUEUE_H2_IDLE_TIMEOUT_SECONDS: "30",
      QUEUE_H2_MAX_SESSION_MEMORY_MB: "16",
    }),
    "QUEUE",
  );
  t.same(limits, {
    headersTimeoutMs: 2500,
    keepAliveTimeoutMs: 7000,
    maxConnections: 0,
    maxHeaderBytes: 8192,
    h2MaxConcurrentStreams: 10,
    h2IdleTimeoutMs: 30_000,
    h2MaxSessionMemoryMb: 16,
  });
  const env = new EnvReader("router", {
    ROUTER_MAX_CONNECTIONS: "-1",
    ROUTER_KEEP_ALIVE_TIMEOUT_SECONDS: "soon",
    ROUTER_H2_MAX_CONCURRENT_STREAMS: "0",
  });
  readListenerLimits(env, "ROUTER");
  const problems = t.throws(() => env.finish()) as { message: string };
  for (const name of [
    "ROUTER_MAX_CONNECTIONS",
    "ROUTER_KEEP_ALIVE_TIMEOUT_SECONDS",
    "ROUTER_H2_MAX_CONCURRENT_STREAMS",
  ])
    t.match(problems.message, name);
  t.equal(adminLimits(DEFAULT_LIMITS).maxConnections, 256, "admin ports get a small cap");
  t.equal(adminLimits({ ...DEFAULT_LIMITS, maxConnections: 0 }).maxConnections, 256);
});

t.test("node options: no request timeout of node's own; HTTP/2 limits and flood protections", async (t) => {
  const http1 = http1Options(DEFAULT_LIMITS);
  t.equal(http1.requestTimeout, 0, "a request's time is its revision's, never node's 300 s");
  t.equal(http1.headersTimeout, DEFAULT_LIMITS.headersTimeoutMs);
  t.equal(http1.keepAliveTimeout, DEFAULT_LIMITS.keepAliveTimeoutMs);
  const http2 = http2Options(DEFAULT_LIMITS);
  t.equal(http2.settings?.maxConcurrentStreams, 250);
  t.equal(http2.settings?.maxHeaderListSize, DEFAULT_LIMITS.maxHeaderBytes);
  for (const option of [
    "maxSettings",
    "maxOutstandingPings",
    "maxSessionInvalidFrames",
    "maxSessionRejectedStreams",
    "streamResetBurst",
    "streamResetRate",
    "maxSessionMemory",
  ] as const)
    t.type(http2[option], "number", option);

  // The TLS server's HTTP/1.1 side starts with node's 60 s header and 300 s request timeouts.
  const tls = createSecureServer({ allowHTTP1: true });
  applyHttp1Limits(tls, { ...DEFAULT_LIMITS, headersTimeoutMs: 1500 });
  const seen = tls as unknown as Record<string, number>;
  t.equal(seen.requestTimeout, 0);
  t.equal(seen.headersTimeout, 1500);
  t.equal(seen.maxHeaderSize, DEFAULT_LIMITS.maxHeaderBytes);
});

t.test("RefusalBursts: one log line per burst, with the previous burst's count", async (t) => {
  const bursts = new RefusalBursts(1000);
  t.same(bursts.refuse(0), { startsBurst: true, previousBurst: 0 });
  t.same(bursts.refuse(10), { startsBurst: false, previousBurst: 0 });
  t.same(bursts.refuse(900), { startsBurst: false, previousBurst: 0 }, "quiet counts from the last refusal");
  t.same(bursts.refuse(5000), { startsBurst: true, previousBurst: 3 });
});

t.test("isWebSocketUpgrade: only the websocket token", async (t) => {
  const req = (upgrade?: string) => ({ headers: upgrade === undefined ? {} : { upgrade } }) as never;
  t.ok(isWebSocketUpgrade(req("websocket")));
  t.ok(isWebSocketUpgrade(req("WebSocket")));
  t.ok(isWebSocketUpgrade(req("foo, websocket")));
  t.notOk(isWebSocketUpgrade(req("h2c")));
  t.notOk(isWebSocketUpgrade(req("websocketx")));
  t.notOk(isWebSocketUpgrade(req()));
});

/** A logger that keeps warn lines. */
function recordingLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = {
    warn: (_fields: unknown, message: string) => warnings.push(message),
    debug: () => {},
    info: () => {},
  } as unknown as Logger;
  return { log, warnings };
}

async function startListener(
  t: { teardown(fn: () => unknown): void },
  over: Partial<ListenerLimits>,
  onRequest: Parameters<typeof createDataListener>[0]["onRequest"] = (_req, res) => res.end("ok\n"),
  path: "node" | "raw" = "node",
) {
  const { log, warnings } = recordingLog();
  const data = createDataListener({
    component: "test",
    limits: { ...DEFAULT_LIMITS, ...over },
    log,
    onRequest,
    raw: path === "raw" ? rawParser() : undefined,
  });
  const { listener } = data;
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    listener.close();
    data.closeAllConnections();
    data.closeH2c();
  });
  const port = (listener.address() as { port: number }).port;
  return { listener, port, warnings };
}

const closed = (socket: Socket) =>
  new Promise<string>((resolve) => {
    let received = "";
    socket.on("data", (chunk) => (received += chunk));
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
  });

t.test(
  "a silent connection and one stuck in the HTTP/2 preface are closed at the header timeout",
  async (t) => {
    const { port } = await startListener(t, { headersTimeoutMs: 300 });
    const silent = await openSocket(port);
    t.equal(await closed(silent), "", "closed without a word");
    const halfPreface = await openSocket(port);
    halfPreface.write(PREFACE.slice(0, 10));
    t.equal(await closed(halfPreface), "");
  },
);

t.test("an idle keep-alive connection is closed; one busy in a request is not", async (t) => {
  const { port } = await startListener(t, { keepAliveTimeoutMs: 300 }, (req, res) => {
    if (req.url === "/slow")
      setTimeout(() => res.end("slow\n"), 700); // longer than the keep-alive
    else res.end("ok\n");
  });
  const socket = await openSocket(port);
  const done = closed(socket);
  socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  const received = await done;
  t.match(received, /^HTTP\/1\.1 200 [\s\S]*slow\n$/, "answered in full, then closed once idle");
});

for (const path of ["node", "raw"] as const) {
  t.test(
    `${path} path: an answered request whose body stops coming is cut at the keep-alive timeout`,
    async (t) => {
      // Answered at once, before its body: the rest is read and dropped while it comes, and a client
      // that stops sending it does not hold the connection for ever.
      const { port } = await startListener(
        t,
        { keepAliveTimeoutMs: 300 },
        (_req, res) => sendPlain(res, 200, "early"),
        path,
      );
      const socket = await openSocket(port);
      const done = closed(socket);
      socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npart");
      t.match(await done, /^HTTP\/1\.1 200 [\s\S]*early\n$/, "answered, then closed");
    },
  );
}

t.test("the connection cap refuses extra connections, serves the open ones, logs once", async (t) => {
  const { port, warnings } = await startListener(t, { maxConnections: 2 });
  const open = [await openSocket(port), await openSocket(port)];
  const ask = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once("data", (chunk) => resolve(String(chunk)));
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    });
  for (const socket of open) t.match(await ask(socket), /^HTTP\/1\.1 200 /);
  for (let i = 0; i < 3; i++) {
    const extra = await openSocket(port);
    extra.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    t.equal(await closed(extra), "", "refused before anything is read");
  }
  for (const socket of open) t.match(await ask(socket), /^HTTP\/1\.1 200 /, "still served");
  t.equal(warnings.length, 1, "one line for the burst");
  t.match(warnings[0], /test: connection limit reached \(2 open\); refusing new connections/);
  for (const socket of open) socket.destroy();
});

t.test("an HTTP/2 session with no open stream is closed after the idle timeout", async (t) => {
  const { port } = await startListener(t, { h2IdleTimeoutMs: 300 });
  const session = connectH2(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
  const stream = session.request({ ":path": "/" });
  stream.resume();
  await new Promise((resolve) => stream.on("close", resolve));
  await goaway;
  await new Promise((resolve) => session.once("close", resolve));
  t.pass("GOAWAY, then closed");
});

t.test(
  "an HTTP/2 session that opens no stream is closed at the header timeout, not the idle one",
  { timeout: 5000 },
  async (t) => {
    const { port } = await startListener(t, { headersTimeoutMs: 300, h2IdleTimeoutMs: 60_000 });
    const socket = await openSocket(port);
    const started = performance.now();
    socket.write(Buffer.concat([Buffer.from(PREFACE), Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0])]));
    await closed(socket);
    t.ok(performance.now() - started >= 200, "not before the timeout");
    // A session that has had a stream is under the idle timeout from then on: still open.
    const session = connectH2(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const stream = session.request({ ":path": "/" });
    stream.resume();
    await new Promise((resolve) => stream.on("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 600));
    t.notOk(
      session.closed || session.destroyed,
      "a session that opened a stream is kept past the header timeout",
    );
    session.close();
  },
);

t.test("HTTP/2: streams beyond the cap are refused; the header list is bounded", async (t) => {
  const held: Array<() => void> = [];
  const { port } = await startListener(t, { h2MaxConcurrentStreams: 2 }, (_req, res) => {
    held.push(() => res.end("ok\n"));
  });
  t.teardown(() => {
    for (const release of held) release();
  });
  // A client that ignores the server's SETTINGS: three HEADERS frames at once, written by hand.
  const socket = await openSocket(port);
  const frames: Array<{ type: number; stream: number; payload: Buffer }> = [];
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      frames.push({
        type: buffered[3],
        stream: buffered.readUInt32BE(5) & 0x7fffffff,
        payload: buffered.subarray(9, 9 + length),
      });
      buffered = buffered.subarray(9 + length);
    }
  });
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(stream, 5);
    return Buffer.concat([head, payload]);
  };
  // HPACK: :method GET (2), :scheme http (6), :path / (4), :authority "x" (literal, name index 1).
  const block = Buffer.from([0x82, 0x86, 0x84, 0x41, 0x01, 0x78]);
  socket.write(
    Buffer.concat([
      Buffer.from(PREFACE),
      frame(0x4, 0, 0, Buffer.alloc(0)),
      frame(0x1, 0x5, 1, block),
      frame(0x1, 0x5, 3, block),
      frame(0x1, 0x5, 5, block),
    ]),
  );
  const settings = await waitFor("the server's SETTINGS", () =>
    frames.find((f) => f.type === 0x4 && f.payload.length > 0),
  );
  const advertised = new Map<number, number>();
  for (let i = 0; i + 6 <= settings.payload.length; i += 6)
    advertised.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
  t.equal(advertised.get(0x3), 2, "SETTINGS_MAX_CONCURRENT_STREAMS");
  t.equal(advertised.get(0x6), DEFAULT_LIMITS.maxHeaderBytes, "SETTINGS_MAX_HEADER_LIST_SIZE");
  const reset = await waitFor("the third stream refused", () =>
    frames.find((f) => f.type === 0x3 && f.stream === 5),
  );
  t.equal(reset.payload.readUInt32BE(0), 0x7, "RST_STREAM REFUSED_STREAM");
  await waitFor("two requests held", () => held.length === 2);
  socket.destroy();
});

t.test("h2c: a preface in pieces, then a request, served on the real socket (peer address)", async (t) => {
  const { port } = await startListener(t, {}, (req, res) => res.end(`peer ${req.socket.remoteAddress}`));
  const socket = await openSocket(port);
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  socket.write(PREFACE.slice(0, 10));
  await new Promise((resolve) => setTimeout(resolve, 50));
  // The rest of the preface, an empty SETTINGS, and HEADERS (END_STREAM | END_HEADERS) for
  // GET / with :authority "x", all in one write: the sniffer's read must reach node's parser whole.
  const settings = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
  const headers = Buffer.from([0, 0, 6, 0x1, 0x5, 0, 0, 0, 1, 0x82, 0x86, 0x84, 0x41, 0x01, 0x78]);
  socket.write(Buffer.concat([Buffer.from(PREFACE.slice(10)), settings, headers]));
  await waitFor("the answer's DATA", () => received.includes("peer 127.0.0.1"));
  t.pass("answered, with the client's address");
  socket.destroy();
});

t.test("a connection the sniffer closed frees its place under the cap", async (t) => {
  const { port } = await startListener(t, { headersTimeoutMs: 200, maxConnections: 1 });
  const silent = await openSocket(port);
  await closed(silent);
  const socket = await openSocket(port);
  const answer = await new Promise<string>((resolve) => {
    socket.once("data", (chunk) => resolve(String(chunk)));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  });
  t.match(answer, /^HTTP\/1\.1 200 /);
  socket.destroy();
});
