// A raw-path client connection's timing and ordering edges: the keep-alive clock starts once the
// last response is written out (a slow reader's download is not cut), the end of a body read
// after its answer is not a new head (no 408 on an idle connection), and a request that closes
// the connection is answered even when more bytes follow it in the same read; an upgrade request
// with a body is answered with that body (not the next request's bytes), and every parser is closed;
// pipelined requests are read ahead (a client leaving meanwhile is heard) up to a bound.
import type { Socket } from "node:net";
import t from "tap";
import { createDataListener, type RequestHandler } from "../../common/http/data-listener.ts";
import { DEFAULT_LIMITS, type ListenerLimits } from "../../common/http/listener-limits.ts";
import { MAX_PIPELINED } from "../../common/http/raw/client-connection.ts";
import type { NodeParserBinding } from "../../common/http/raw/node-parser.ts";
import type { RawRequest } from "../../common/http/raw/raw-request.ts";
import { createLogger } from "../../common/log.ts";
import { countingParsers } from "../helpers/counting-parsers.ts";
import { openSocket } from "../helpers/raw-http.ts";
import { rawParser } from "../helpers/raw-parser.ts";

async function rawListener(
  t: { teardown(fn: () => unknown): void },
  limits: Partial<ListenerLimits>,
  onRequest: RequestHandler,
  more: { raw?: NodeParserBinding; onUpgrade?: Parameters<typeof createDataListener>[0]["onUpgrade"] } = {},
): Promise<number> {
  const data = createDataListener({
    component: "test",
    limits: { ...DEFAULT_LIMITS, ...limits },
    log: createLogger("test", "silent"),
    onRequest,
    raw: more.raw ?? rawParser(),
    ...(more.onUpgrade ? { onUpgrade: more.onUpgrade } : {}),
  });
  await new Promise<void>((resolve) => data.listener.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    data.listener.close();
    data.closeAllConnections();
  });
  return (data.listener.address() as { port: number }).port;
}

/** Everything the server sends until it closes the connection. */
function untilClosed(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A 32 MB answer (more than loopback's socket buffers hold) to a client that sends `request`,
 * then stops reading for several keep-alive timeouts; returns the body's length as received.
 */
async function slowDownload(
  t: { teardown(fn: () => unknown): void },
  request: (socket: Socket) => Promise<void>,
): Promise<{ received: number; sent: number }> {
  const body = Buffer.alloc(32 * 1024 * 1024, "b");
  const port = await rawListener(t, { keepAliveTimeoutMs: 200, headersTimeoutMs: 400 }, (_req, res) => {
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  });
  const socket = await openSocket(port);
  const received = untilClosed(socket);
  let length = 0;
  // Hung up by the client once the body is in; a cut connection ends it sooner.
  socket.on("data", (chunk: Buffer) => {
    length += chunk.length;
    if (length >= body.length) socket.end();
  });
  socket.pause();
  await request(socket);
  await sleep(1000);
  socket.resume();
  const bytes = await received;
  return { received: bytes.length - bytes.indexOf("\r\n\r\n") - 4, sent: body.length };
}

t.test("a client reading slowly gets the whole response past the keep-alive timeout", async (t) => {
  const { received, sent } = await slowDownload(t, async (socket) => {
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  });
  t.equal(received, sent, "every byte of the body arrived");
});

t.test("a slow reader answered before its body ended also gets the whole response", async (t) => {
  const { received, sent } = await slowDownload(t, async (socket) => {
    socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
    await sleep(100);
    socket.write("world"); // the rest of the body, after the answer started
  });
  t.equal(received, sent, "every byte of the body arrived");
});

t.test("the end of a body read after its answer leaves the connection idle, not a head", async (t) => {
  const port = await rawListener(t, { keepAliveTimeoutMs: 300, headersTimeoutMs: 60_000 }, (_req, res) =>
    res.end("early\n"),
  );
  const socket = await openSocket(port);
  let text = "";
  socket.on("data", (chunk) => (text += chunk));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
  while (!text.includes("early\n")) await new Promise((resolve) => socket.once("data", resolve));
  socket.write("world"); // the rest of the body, read and dropped
  const answered = text.length;
  await closed;
  t.equal(text.slice(answered), "", "closed at the keep-alive timeout, without a 408");
});

t.test("a request closing the connection is answered when more bytes follow in its read", async (t) => {
  const seen: string[] = [];
  const port = await rawListener(t, {}, (req, res) => {
    seen.push(req.url ?? "");
    res.end("ok\n");
  });
  const socket = await openSocket(port);
  const received = untilClosed(socket);
  socket.write(
    "GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const text = (await received).toString();
  t.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n3\r\nok\n\r\n0\r\n\r\n$/, "one answer, to the first");
  t.same(seen, ["/first"], "nothing after the request that closed the connection");
});

/** Answers with the request's body: "<url> got [<body>]". */
const echoBody: RequestHandler = (req, res) => {
  const raw = req as unknown as RawRequest;
  let body = "";
  const done = () => res.end(`${raw.url} got [${body}]\n`);
  const early = raw.attach({
    write: (chunk) => {
      body += chunk.toString("latin1");
      return true;
    },
    end: done,
  });
  for (const chunk of early ?? []) body += chunk.toString("latin1");
  if (raw.complete) done();
};

/** A WebSocket handshake's head without its closing blank line, and the answer these tests' upgrade handlers give. */
const WS_HANDSHAKE =
  "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
const SWITCHING = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

const UPGRADE_WITH_BODY =
  "POST /a HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: foo\r\nContent-Length: 5\r\n\r\nhello";

t.test("an upgrade request with a body is answered with it, and the connection closes", async (t) => {
  const port = await rawListener(t, {}, echoBody);
  // First on its connection (parsed from the sniffer's bytes), then second (read from the socket).
  const first = await openSocket(port);
  const firstText = untilClosed(first);
  first.write(`${UPGRADE_WITH_BODY}GET /b HTTP/1.1\r\nHost: x\r\n\r\n`);
  const text = (await firstText).toString();
  t.match(
    text,
    /Connection: close\r\n[\s\S]*\/a got \[hello\]\n\r\n0\r\n\r\n$/,
    "its own body, then the close",
  );
  t.notMatch(text, /\/b got/, "the bytes after it were not read as a request");

  const second = await openSocket(port);
  const secondText = untilClosed(second);
  let seen = "";
  second.on("data", (chunk) => (seen += chunk));
  second.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
  while (!seen.includes("/first got")) await new Promise((resolve) => second.once("data", resolve));
  second.write(UPGRADE_WITH_BODY);
  second.write("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  const all = (await secondText).toString();
  t.match(
    all,
    /Connection: close\r\n[\s\S]*\/a got \[hello\]\n\r\n0\r\n\r\n$/,
    "second on its connection: its own body, then the close",
  );
  t.notMatch(all, /\/a got \[GET/, "the next request's bytes were not its body");
});

t.test("a WebSocket upgrade in the first bytes reaches node:http with what followed its head", async (t) => {
  let head = "";
  const port = await rawListener(t, {}, echoBody, {
    onUpgrade: (_req, socket, rest) => {
      head = rest.toString("latin1");
      socket.end(SWITCHING);
    },
  });
  const socket = await openSocket(port);
  const closed = untilClosed(socket);
  socket.write(`${WS_HANDSHAKE}\r\nearly frame`);
  t.match((await closed).toString(), /^HTTP\/1\.1 101 /);
  t.equal(head, "early frame", "the bytes after the head, not dropped");
});

t.test("a connection handed to node:http for an upgrade has its parser closed", async (t) => {
  const { binding: counting, made, closed } = countingParsers(rawParser());
  const port = await rawListener(t, {}, echoBody, {
    raw: counting,
    onUpgrade: (_req, socket) => socket.end(SWITCHING),
  });
  for (let i = 0; i < 3; i++) {
    const socket = await openSocket(port);
    const done = untilClosed(socket);
    socket.write(`${WS_HANDSHAKE}\r\n`);
    await done;
  }
  while (closed() < made()) await new Promise((resolve) => setImmediate(resolve));
  t.equal(made(), 3, "a parser per connection");
  t.equal(closed(), 3, "each closed once its connection went to node:http");
});

t.test(
  "a WebSocket upgrade whose Transfer-Encoding is not chunked goes to node:http (llhttp reads no body)",
  async (t) => {
    let served = false;
    let rest = "";
    const port = await rawListener(
      t,
      {},
      (_req, res) => {
        served = true;
        res.end("plain\n");
      },
      {
        onUpgrade: (_req, socket, head) => {
          rest = head.toString("latin1");
          socket.end(SWITCHING);
        },
      },
    );
    const socket = await openSocket(port);
    const closed = untilClosed(socket);
    socket.write(`${WS_HANDSHAKE}Transfer-Encoding: identity\r\n\r\nframe`);
    t.match((await closed).toString(), /^HTTP\/1\.1 101 /, "tunnelled, as on node:http's path");
    t.notOk(served, "not served as a plain request");
    t.equal(rest, "frame");
  },
);

for (const [name, head, behind] of [
  ["keep-alive", "GET /waits HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["Connection: close", "GET /waits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
  ["HTTP/1.0", "GET /waits HTTP/1.0\r\nHost: x\r\n\r\n"],
  // llhttp refuses what follows a request that closes the connection: read and dropped.
  [
    "Connection: close, more bytes behind,",
    "GET /waits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /more HTTP/1.1\r\nHost: x\r\n\r\n",
  ],
  // In a read of its own, while /waits is being answered: read, queued behind it, never started.
  [
    "keep-alive, a pipelined request read behind,",
    "GET /waits HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
  ],
] as const) {
  t.test(`a client leaving while its ${name} request waits is noticed`, async (t) => {
    let started: () => void = () => {};
    const waiting = new Promise<void>((resolve) => (started = resolve));
    let noticed: () => void = () => {};
    const gone = new Promise<void>((resolve) => (noticed = resolve));
    const urls: string[] = [];
    const port = await rawListener(t, {}, (req, res) => {
      urls.push(req.url ?? "");
      if (req.url === "/first") return res.end("ok");
      res.once("close", () => noticed());
      started();
    });
    const socket = await openSocket(port);
    socket.on("error", () => {});
    socket.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((resolve) => socket.once("data", resolve));
    socket.write(head);
    await waiting;
    if (behind !== undefined) socket.write(behind);
    socket.end();
    await gone;
    t.same(urls, ["/first", "/waits"], "the response heard the client go; nothing after it started");
  });
}

/** Event-loop turns until `ready()` (the server is in this process: a read it does is one turn away). */
async function until(ready: () => boolean, turns = 1000): Promise<boolean> {
  for (let i = 0; i < turns && !ready(); i++) await new Promise((resolve) => setImmediate(resolve));
  return ready();
}

/** A handler answering each request with its URL, but /0 only once released. */
function holdingZero(): { handler: RequestHandler; release: () => void; holding: () => boolean } {
  let release: () => void = () => {};
  let holding = false;
  return {
    handler: (req, res) => {
      const answer = () => res.end(`${req.url}\n`);
      if (req.url !== "/0") return answer();
      release = answer;
      holding = true;
    },
    release: () => release(),
    holding: () => holding,
  };
}

t.test(`pipelined requests are read ahead up to ${MAX_PIPELINED}, then all answered in order`, async (t) => {
  const zero = holdingZero();
  const counted = countingParsers(rawParser());
  const port = await rawListener(t, {}, zero.handler, { raw: counted.binding });
  const socket = await openSocket(port);
  const closed = untilClosed(socket);
  socket.write("GET /0 HTTP/1.1\r\nHost: x\r\n\r\n");
  t.ok(await until(zero.holding), "/0 is being answered");
  const count = 3 * MAX_PIPELINED;
  for (let i = 1; i <= count; i++) {
    const close = i === count ? "Connection: close\r\n" : "";
    await new Promise((resolve) => socket.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n${close}\r\n`, resolve));
    // One read per request while the server reads on (so none are framed together).
    if (i <= MAX_PIPELINED) t.ok(await until(() => counted.heads() === 1 + i), `/${i} read while /0 is held`);
  }
  await until(() => false, 20); // the writes past the limit had their turns to be read
  t.equal(counted.heads(), 1 + MAX_PIPELINED, "then the connection waits unread");
  zero.release();
  const text = (await closed).toString();
  const answered = [...text.matchAll(/\r\n\/(\d+)\n/g)].map((m) => Number(m[1]));
  t.same(
    answered,
    Array.from({ length: count + 1 }, (_, i) => i),
    "every request answered, in order",
  );
});

t.test(
  "a pipelined upload waits in its buffer, the client unread past it, and then goes whole",
  async (t) => {
    let release: () => void = () => {};
    let holding = false;
    const counted = countingParsers(rawParser());
    const port = await rawListener(
      t,
      {},
      (req, res) => {
        if (req.url === "/0") {
          release = () => res.end("/0\n");
          holding = true;
          return;
        }
        let length = 0;
        const sink = {
          write: (chunk: Buffer) => {
            length += chunk.length;
            return true;
          },
          end: () => res.end(`${req.url} ${length}\n`),
        };
        for (const chunk of (req as unknown as RawRequest).attach(sink) ?? []) length += chunk.length;
        if ((req as unknown as RawRequest).complete) sink.end();
      },
      { raw: counted.binding },
    );
    const socket = await openSocket(port);
    const closed = untilClosed(socket);
    socket.write("GET /0 HTTP/1.1\r\nHost: x\r\n\r\n");
    t.ok(await until(() => holding), "/0 is being answered");
    const body = Buffer.alloc(4 * 1024 * 1024, "u");
    socket.write(
      `POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body);
    t.ok(await until(() => counted.bodyBytes() > 64 * 1024), "the upload is read into its buffer");
    await until(() => false, 50);
    t.ok(
      counted.bodyBytes() < 256 * 1024,
      `and stops there while /0 is held (${counted.bodyBytes()} bytes read)`,
    );
    release();
    t.match(
      (await closed).toString(),
      /\/0\n[\s\S]*\/up 4194304\n/,
      "then all of it goes, after /0's answer",
    );
  },
);

t.test("thousands of pipelined requests answered at once go in a loop, not a call each", async (t) => {
  const port = await rawListener(t, {}, (_req, res) => {
    res.writeHead(404, { "content-length": "0" });
    res.end();
  });
  const socket = await openSocket(port);
  const closed = untilClosed(socket);
  const count = 5000;
  socket.write(
    `${"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(count - 1)}GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  );
  const text = (await closed).toString();
  t.equal(text.match(/HTTP\/1\.1 404 /g)?.length, count, "every one answered, the process alive");
});

for (const where of ["a later read", "the first read"] as const) {
  t.test(
    `an upgrade pipelined behind requests in ${where} waits for their answers, then goes to node:http`,
    async (t) => {
      const zero = holdingZero();
      const port = await rawListener(t, {}, zero.handler, {
        onUpgrade: (_req, socket, head) => {
          // Echoes what the tunnel carried, once the client says it is done.
          let tunnelled = head.toString("latin1");
          socket.write(SWITCHING);
          socket.on("data", (chunk: Buffer) => {
            tunnelled += chunk.toString("latin1");
            if (tunnelled.endsWith("end")) socket.end(`tunnelled ${tunnelled}`);
          });
        },
      });
      const socket = await openSocket(port);
      const closed = untilClosed(socket);
      const upgrade = `GET /1 HTTP/1.1\r\nHost: x\r\n\r\n${WS_HANDSHAKE}\r\nframe1|`;
      if (where === "the first read") socket.write(`GET /0 HTTP/1.1\r\nHost: x\r\n\r\n${upgrade}`);
      else {
        socket.write("GET /0 HTTP/1.1\r\nHost: x\r\n\r\n");
        t.ok(await until(zero.holding), "/0 is being answered");
        socket.write(upgrade);
      }
      t.ok(await until(zero.holding), "/0 is being answered");
      socket.write("frame2|"); // while the upgrade waits
      await until(() => false, 20);
      let switched = false;
      socket.on("data", (chunk: Buffer) => {
        if (switched || !chunk.toString("latin1").includes(" 101 ")) return;
        switched = true;
        socket.write("frame3|end");
      });
      zero.release();
      const text = (await closed).toString();
      t.match(text, /\r\n\/0\n[\s\S]*\r\n\/1\n[\s\S]*HTTP\/1\.1 101 /, "/0, /1, then the upgrade's 101");
      t.match(text, /tunnelled frame1\|frame2\|frame3\|end$/, "and every byte after its head, in order");
    },
  );
}

t.test("a queued upload answered without its body is dropped, and the next request served", async (t) => {
  let release: () => void = () => {};
  let holding = false;
  const port = await rawListener(t, {}, (req, res) => {
    if (req.url === "/0") {
      release = () => res.end("/0\n");
      holding = true;
      return;
    }
    res.writeHead(404, { "content-length": String(`${req.url}\n`.length) });
    res.end(`${req.url}\n`);
  });
  const socket = await openSocket(port);
  const closed = untilClosed(socket);
  socket.write("GET /0 HTTP/1.1\r\nHost: x\r\n\r\n");
  t.ok(await until(() => holding), "/0 is being answered");
  const body = Buffer.alloc(1024 * 1024, "u");
  socket.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
  socket.write(body);
  socket.write("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  await until(() => false, 20);
  release();
  t.match(
    (await closed).toString(),
    /\/0\n[\s\S]*\/up\n[\s\S]*\/after\n/,
    "/up answered unread, then /after",
  );
});

t.test("reading for queued bodies stays bounded whatever resumes it", async (t) => {
  let held: RawRequest | undefined;
  const counted = countingParsers(rawParser());
  const port = await rawListener(
    t,
    {},
    (req, res) => {
      if (req.url === "/0") {
        held = req as unknown as RawRequest;
        return;
      }
      res.end("ok");
    },
    { raw: counted.binding },
  );
  const socket = await openSocket(port);
  socket.on("error", () => {});
  socket.write("GET /0 HTTP/1.1\r\nHost: x\r\n\r\n");
  t.ok(await until(() => held !== undefined), "/0 is being answered");
  // Each under one request's buffer limit: only the bound on all of them stops the reading.
  const body = Buffer.alloc(48 * 1024, "u");
  for (let i = 1; i <= 8; i++) {
    socket.write(`POST /${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
  }
  t.ok(await until(() => counted.bodyBytes() > 64 * 1024), "the first uploads are read into their buffers");
  // What an upstream drain does for the request being answered: resume the client's reads.
  for (let i = 0; i < 20; i++) {
    held?.resume();
    await until(() => false, 5);
  }
  t.ok(
    counted.bodyBytes() < 192 * 1024,
    `the queued bodies stay bounded (${counted.bodyBytes()} of 384 KB read)`,
  );
  socket.destroy();
});
