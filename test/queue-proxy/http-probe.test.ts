// The httpGet readiness probe, on both data paths' clients, against real servers on loopback.
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import t, { type Test } from "tap";
import { freePort } from "../../common/free-port.ts";
import { chooseDataPath } from "../../common/http/raw/data-path.ts";
import { type HttpGet, type HttpProbe, nodeHttpGet, rawHttpGet } from "../../queue-proxy/http-probe.ts";

const dataPath = chooseDataPath("raw");
if (dataPath.name !== "raw") throw new Error(`the raw path is not available here: ${dataPath.fallback}`);
const clients: [string, HttpGet][] = [
  ["raw", rawHttpGet(dataPath.parser)],
  ["node", nodeHttpGet],
];

const probeOf = (port: number, path = "/ready", timeoutMs = 1000): HttpProbe => ({
  kind: "http",
  host: "127.0.0.1",
  port,
  path,
  periodMs: 1000,
  timeoutMs,
});

async function listen(t: Test, server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** An app whose answer is the status the path asks for (/status/204), recording what it got. */
async function app(t: Test) {
  const seen: { url: string; host: string | undefined; method: string }[] = [];
  const closed: Promise<void>[] = [];
  const server = createHttpServer((req, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host, method: req.method ?? "" });
    const status = Number(/^\/status\/(\d+)/.exec(req.url ?? "")?.[1] ?? 200);
    res.writeHead(status, { "content-type": "text/plain" });
    // A big body: the probe has its answer at the head and must not wait for (or keep) the rest.
    res.end(req.url?.includes("big") ? "x".repeat(4 << 20) : "ok");
  });
  server.on("connection", (socket: Socket) => {
    socket.on("error", () => {}); // the probe leaving mid-body resets the connection
    closed.push(new Promise((resolve) => socket.once("close", resolve)));
  });
  const port = await listen(t, server);
  return { port, seen, allClosed: () => Promise.all(closed) };
}

for (const [name, httpGet] of clients) {
  t.test(`${name}: a 2xx or 3xx answer is ready, anything else is not`, async (t) => {
    const { port, seen } = await app(t);
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
  });

  t.test(`${name}: the answer's head is enough; the connection does not stay`, async (t) => {
    const { port, allClosed } = await app(t);
    t.equal(await httpGet(probeOf(port, "/big")), true, "ready before a 4 MB body has come");
    await allClosed();
    t.pass("the probe's connection was closed");
  });

  t.test(`${name}: nothing listening, or a refused connection, is not ready`, async (t) => {
    t.equal(await httpGet(probeOf(await freePort())), false);
  });

  t.test(`${name}: an app that accepts and never answers is not ready after the timeout`, async (t) => {
    const sockets: Socket[] = [];
    // Reads (so that it sees the probe go) and never answers.
    const silent = createServer((socket) => sockets.push(socket.resume()));
    t.teardown(() => {
      for (const socket of sockets) socket.destroy();
    });
    const port = await listen(t, silent);
    const started = Date.now();
    t.equal(await httpGet(probeOf(port, "/ready", 200)), false);
    const took = Date.now() - started;
    t.ok(took >= 190, `waited for the timeout (${took} ms)`);
    t.ok(took < 5000, `not much past it (${took} ms)`);
    await Promise.all(sockets.map((socket) => (socket.closed ? undefined : once(socket, "close"))));
    t.pass("the connection was closed at the timeout");
  });

  t.test(`${name}: an answer that is not HTTP is not ready`, async (t) => {
    const garbage = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n"));
    const port = await listen(t, garbage);
    t.equal(await httpGet(probeOf(port)), false);
  });
}

t.test("raw: a host no URL takes is not ready, not a thrown error", async (t) => {
  const [, raw] = clients[0];
  t.equal(await raw({ ...probeOf(1), host: "bad host" }), false);
});
