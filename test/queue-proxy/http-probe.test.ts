// The httpGet readiness probe, on both data paths' clients, against real servers on loopback.
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import t, { type Test } from "tap";
import { type HttpGet, type HttpProbe, nodeHttpGet, rawHttpGet } from "../../queue-proxy/http-probe.ts";
import { rawParser } from "../helpers/raw-parser.ts";
import { refusedPort } from "../helpers/refused-port.ts";

const clients: [string, HttpGet][] = [
  ["raw", rawHttpGet(rawParser())],
  ["node", nodeHttpGet],
];

const probeOf = (port: number, path = "/ready", timeoutMs = 1000, host = "127.0.0.1"): HttpProbe => ({
  kind: "http",
  host,
  port,
  path,
  periodMs: 1000,
  timeoutMs,
});

async function listen(t: Test, server: Server, host = "127.0.0.1"): Promise<number> {
  server.listen(0, host);
  await once(server, "listening");
  t.teardown(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** Resolves when `socket` has closed; fails the test if that takes 5 s (it would never come). */
function closes(t: Test, socket: Socket, what: string): Promise<void> {
  if (socket.closed) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<void>((resolve) => socket.once("close", () => resolve())),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        t.fail(`${what}: still open after 5 s`);
        socket.destroy();
        resolve();
      }, 5000);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A server that writes `answer` once it has read a request head, and records what it read. */
async function rawApp(t: Test, answer: string | ((socket: Socket) => void), host = "127.0.0.1") {
  const heads: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {}); // a probe that leaves resets the connection
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      heads.push(head);
      if (typeof answer === "string") socket.write(answer);
      else answer(socket);
    });
  });
  const port = await listen(t, server, host);
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
  });
  return { port, heads, sockets };
}

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

for (const [name, httpGet] of clients) {
  t.test(`${name}: a 2xx or 3xx answer is ready, anything else is not`, async (t) => {
    const seen: { url: string; host: string | undefined; method: string }[] = [];
    const server = createHttpServer((req, res) => {
      seen.push({ url: req.url ?? "", host: req.headers.host, method: req.method ?? "" });
      res.writeHead(Number(/^\/status\/(\d+)/.exec(req.url ?? "")?.[1] ?? 200)).end("ok");
    });
    const port = await listen(t, server);
    const timersBefore = timers();
    t.equal(await httpGet(probeOf(port, "/status/200?probe=1")), true, "200");
    t.equal(await httpGet(probeOf(port, "/status/204")), true, "204");
    t.equal(await httpGet(probeOf(port, "/status/302")), true, "302");
    t.equal(await httpGet(probeOf(port, "/status/404")), false, "404");
    t.equal(await httpGet(probeOf(port, "/status/500")), false, "500");
    t.equal(await httpGet(probeOf(port, "/status/503")), false, "503");
    t.same(
      seen[0],
      { url: "/status/200?probe=1", host: `127.0.0.1:${port}`, method: "GET" },
      "a GET of the probe's path and query, with the app's address as Host",
    );
    t.equal(timers(), timersBefore, "no timer (deadline, pool sweep) left behind by six probes");
  });

  t.test(`${name}: the answer's head is enough; the connection is closed then`, async (t) => {
    // The head and a first piece of the body, then nothing: only the probe can close this one.
    const app = await rawApp(t, (socket) =>
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\nfirst piece"),
    );
    t.equal(await httpGet(probeOf(app.port, "/ready", 60_000)), true, "ready with the body still to come");
    await closes(t, app.sockets[0], "the probe's connection");
  });

  t.test(`${name}: an informational answer first (103) is not the answer`, async (t) => {
    const app = await rawApp(
      t,
      "HTTP/1.1 103 Early Hints\r\nlink: </style.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    );
    t.equal(await httpGet(probeOf(app.port)), true);
    const app500 = await rawApp(
      t,
      "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n",
    );
    t.equal(await httpGet(probeOf(app500.port)), false);
  });

  t.test(`${name}: nothing listening is not ready`, async (t) => {
    t.equal(await httpGet(probeOf(await refusedPort(t))), false);
  });

  t.test(`${name}: an app that closes without an answer is not ready`, async (t) => {
    const app = await rawApp(t, (socket) => socket.destroy());
    t.equal(await httpGet(probeOf(app.port)), false);
    t.equal(app.heads.length, 1, "it had the request");
  });

  t.test(`${name}: an app that accepts and never answers is not ready at the timeout`, async (t) => {
    const app = await rawApp(t, () => {});
    const started = Date.now();
    t.equal(await httpGet(probeOf(app.port, "/ready", 200)), false);
    const took = Date.now() - started;
    t.ok(took >= 190, `waited for the timeout (${took} ms)`);
    await closes(t, app.sockets[0], "the timed-out probe's connection");
  });

  t.test(`${name}: a 101 that holds the connection is not ready at the timeout`, async (t) => {
    const app = await rawApp(
      t,
      "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: x\r\n\r\n",
    );
    t.equal(await httpGet(probeOf(app.port, "/ready", 200)), false);
    await closes(t, app.sockets[0], "the probe's connection");
  });

  t.test(`${name}: a head that trickles in past the timeout is not ready`, async (t) => {
    const app = await rawApp(t, (socket) => {
      socket.write("HTTP/1.1 200 OK\r\n");
      const drip = setInterval(() => socket.write("x-wait: 1\r\n"), 20);
      socket.once("close", () => clearInterval(drip));
    });
    t.equal(await httpGet(probeOf(app.port, "/ready", 200)), false);
    await closes(t, app.sockets[0], "the probe's connection");
  });

  t.test(`${name}: an answer that is not HTTP is not ready`, async (t) => {
    const app = await rawApp(t, "SSH-2.0-OpenSSH_9.6\r\n");
    t.equal(await httpGet(probeOf(app.port)), false);
  });

  t.test(`${name}: an IPv6 address: reached, and named in brackets as the Host`, async (t) => {
    const app = await rawApp(t, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", "::1");
    t.equal(await httpGet(probeOf(app.port, "/ready", 1000, "::1")), true);
    t.match(app.heads[0], new RegExp(`\\r\\nhost: \\[::1\\]:${app.port}\\r\\n`, "i"));
  });
}

t.test("raw: a host no URL takes is not ready, not a thrown error", async (t) => {
  const [, raw] = clients[0];
  t.equal(await raw({ ...probeOf(1), host: "bad host" }), false);
});
