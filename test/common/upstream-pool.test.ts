// The raw path's upstream pool times by a sweep: a connection is closed once idle for the
// keep-alive timeout, a request fails once its response has not started for the headers timeout,
// and neither earlier (a connection idle, or a request waiting, when the sweep looks is only
// stamped then: closing it there cost a reconnect per sweep and connection under load, and
// failing it a 504 for any request the sweep found waiting).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import t from "tap";
import { listen } from "../../common/http/listen.ts";
import { loadNodeParser } from "../../common/http/raw/node-parser.ts";
import { UpstreamPool } from "../../common/http/raw/upstream-pool.ts";
import { countingParsers } from "../helpers/counting-parsers.ts";

const binding = loadNodeParser();

function get(pool: UpstreamPool, origin: string, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    pool.dispatch(
      { origin, path, method: "GET" },
      {
        onResponseData: (_controller, chunk) => (body += chunk),
        onResponseEnd: () => resolve(body),
        onResponseError: (_controller, error) => reject(error),
      },
    );
  });
}

t.test("an idle connection is reused, and closed only once idle for the keep-alive timeout", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const sockets: Socket[] = [];
  const app = createServer((_req, res) => res.end("ok"));
  app.keepAliveTimeout = 60_000;
  app.on("connection", (socket: Socket) => sockets.push(socket));
  const port = await listen(app, 0);
  t.teardown(() => app.close());
  const origin = `http://127.0.0.1:${port}`;

  const keepAliveTimeoutMs = 400; // the sweep looks every 50 ms
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs });
  t.teardown(() => pool.close());

  t.equal(await get(pool, origin), "ok");
  const idleFrom = Date.now();
  const closed = once(sockets[0], "close");
  for (let i = 0; i < 5; i++) t.equal(await get(pool, origin), "ok");
  t.equal(sockets.length, 1, "one connection for six requests");
  const lastAnswered = Date.now();
  await closed;
  // Stamped a sweep early, so closed by the timeout: at most one sweep before it.
  const soonest = keepAliveTimeoutMs - keepAliveTimeoutMs / 8;
  t.ok(
    Date.now() - lastAnswered >= soonest,
    `closed ${Date.now() - lastAnswered} ms after its last request, not before ${soonest} ms`,
  );
  t.ok(Date.now() - idleFrom >= soonest);
  t.equal(pool.connections, 0, "the pool let go of it");
});

t.test("a response that starts within the headers timeout is not cut; one that does not fails", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const app = createServer((req, res) => {
    const ms = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms"));
    setTimeout(() => res.end(`after ${ms}`), ms).unref();
  });
  const port = await listen(app, 0);
  t.teardown(() => {
    app.closeAllConnections();
    app.close();
  });
  const origin = `http://127.0.0.1:${port}`;
  const headersTimeoutMs = 1000; // the sweep looks every 125 ms: several times within each wait
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000, headersTimeoutMs });
  t.teardown(() => pool.close());

  t.equal(await get(pool, origin, "/?ms=700"), "after 700", "answered after several sweeps");
  const sent = Date.now();
  const error = await get(pool, origin, "/?ms=60000").catch((error: Error) => error);
  t.match(error, { code: "UND_ERR_HEADERS_TIMEOUT" });
  t.ok(Date.now() - sent >= headersTimeoutMs, `failed after ${Date.now() - sent} ms, not before the timeout`);
});

t.test(
  "a connect that does not complete in time fails as undici's does (the router retries it)",
  async (t) => {
    if ("problem" in binding) throw new Error(binding.problem);
    // A listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs.
    const stuck = spawn(
      process.execPath,
      [
        "-e",
        `const server = require("node:net").createServer();
       server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
         console.log(server.address().port);
         const until = Date.now() + 10000;
         while (Date.now() < until);
       })`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    t.teardown(() => stuck.kill("SIGKILL"));
    const [line] = await once(stuck.stdout, "data");
    const port = Number(String(line).trim());
    const fillers: Socket[] = [];
    t.teardown(() => {
      for (const socket of fillers) socket.destroy();
    });
    for (let i = 0; i < 4; i++) fillers.push(connect({ host: "127.0.0.1", port }).on("error", () => {}));
    await Promise.all(fillers.slice(0, 2).map((socket) => once(socket, "connect")));

    const connectTimeoutMs = 400;
    const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000, connectTimeoutMs });
    t.teardown(() => pool.close());
    const sent = Date.now();
    const error = await get(pool, `http://127.0.0.1:${port}`).catch((error: Error) => error);
    t.match(error, { code: "UND_ERR_CONNECT_TIMEOUT" });
    t.ok(Date.now() - sent >= connectTimeoutMs, `failed after ${Date.now() - sent} ms`);
    t.equal(pool.connections, 0, "the connection is dropped");
  },
);

t.test("a body paused longer than the body timeout is timed afresh once resumed", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  // The app sends a first chunk, then the rest 900 ms later; the reader pauses from 100 ms (the
  // sweep has stamped the first chunk by then) to 800 ms. Timed from that stamp, the 100 ms wait
  // after resume() would look like 800.
  const app = createServer((_req, res) => {
    res.write("first ");
    setTimeout(() => res.end("rest"), 900).unref();
  });
  const port = await listen(app, 0);
  t.teardown(() => {
    app.closeAllConnections();
    app.close();
  });
  const bodyTimeoutMs = 300; // the sweep looks every 37 ms
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000, bodyTimeoutMs });
  t.teardown(() => pool.close());

  const body = await new Promise<string>((resolve, reject) => {
    let body = "";
    pool.dispatch(
      { origin: `http://127.0.0.1:${port}`, path: "/", method: "GET" },
      {
        onResponseData: (controller, chunk) => {
          if (body === "")
            setTimeout(() => {
              controller.pause();
              setTimeout(() => controller.resume(), 700);
            }, 100);
          body += chunk;
        },
        onResponseEnd: () => resolve(body),
        onResponseError: (_controller, error) => reject(error),
      },
    );
  });
  t.equal(body, "first rest", "not cut by a body timeout counted across the pause");
});

t.test("a connection the app closes (idle, or after a request) has its parser closed", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const { binding: counting, made, closed } = countingParsers(binding);
  const sockets: Socket[] = [];
  const app = createServer((_req, res) => res.end("ok"));
  app.on("connection", (socket: Socket) => sockets.push(socket));
  const port = await listen(app, 0);
  t.teardown(() => app.close());
  const pool = new UpstreamPool(counting, { keepAliveTimeoutMs: 60_000 });
  t.teardown(() => pool.close());
  const origin = `http://127.0.0.1:${port}`;
  await Promise.all([get(pool, origin), get(pool, origin), get(pool, origin)]);
  t.equal(made(), 3, "three connections");
  // The app ends them while idle, as one with a shorter keep-alive than the pool's does.
  for (const socket of sockets) socket.end();
  while (pool.connections > 0 || closed() < made()) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(closed(), 3, "every parser closed");
});

t.test("connections the pool closes itself have their parsers closed", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const { binding: counting, made, closed } = countingParsers(binding);
  const app = createServer((_req, res) => res.end("ok"));
  const port = await listen(app, 0);
  t.teardown(() => app.close());
  const pool = new UpstreamPool(counting, { keepAliveTimeoutMs: 60_000 });
  const origin = `http://127.0.0.1:${port}`;
  await Promise.all([get(pool, origin), get(pool, origin)]);
  t.equal(made(), 2, "two connections");
  pool.close();
  while (closed() < made()) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(closed(), 2, "every parser closed");
});

t.test("a 101 to a request that asked for no upgrade fails it, as undici does", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const app = createNetServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () =>
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      ),
    );
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  t.teardown(() => app.close());
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000 });
  t.teardown(() => pool.close());
  const origin = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  const outcome = await new Promise<string>((resolve) =>
    pool.dispatch(
      { origin, path: "/", method: "GET" },
      {
        onRawResponseStart: (_c, status) => resolve(`response ${status}`),
        onResponseError: (_c, error) => resolve(`${(error as { code?: string }).code}: ${error.message}`),
      },
    ),
  );
  t.equal(outcome, "UND_ERR_SOCKET: bad upgrade");
  t.equal(pool.connections, 0, "the connection is not kept");
});
