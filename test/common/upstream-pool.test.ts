// The raw path's upstream pool times by a sweep: a connection is closed once idle for the
// keep-alive timeout, a request fails once its response has not started for the headers timeout,
// and neither earlier (a connection idle, or a request waiting, when the sweep looks is only
// stamped then: closing it there cost a reconnect per sweep and connection under load, and
// failing it a 504 for any request the sweep found waiting).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import t, { type Test } from "tap";
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

/** A raw app answering each request with `answer(n)` (n: the request's number, from 0, all connections). */
async function scriptedApp(
  t: Test,
  answer: (n: number, socket: Socket) => string,
): Promise<{ origin: string; connections: () => number }> {
  let connections = 0;
  let n = 0;
  const sockets = new Set<Socket>();
  const app = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\r\n\r\n"); end !== -1; end = buffered.indexOf("\r\n\r\n")) {
        buffered = buffered.slice(end + 4);
        socket.write(answer(n++, socket));
      }
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    app.close();
  });
  return {
    origin: `http://127.0.0.1:${(app.address() as { port: number }).port}`,
    connections: () => connections,
  };
}

t.test("what a handler throws fails its own request, not the process; the pool goes on", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const app = await scriptedApp(t, () => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000 });
  t.teardown(() => pool.close());
  const boom = new Error("boom");
  const thrower = (where: "start" | "data" | "end") =>
    new Promise<string>((resolve) =>
      pool.dispatch(
        { origin: app.origin, path: "/", method: "GET" },
        {
          onRawResponseStart: () => {
            if (where === "start") throw boom;
          },
          onResponseData: () => {
            if (where === "data") throw boom;
          },
          onResponseEnd: () => {
            if (where === "end") throw boom;
            resolve("ended");
          },
          onResponseError: (_c, error) => resolve(error === boom ? "failed with its error" : String(error)),
        },
      ),
    );
  for (const where of ["start", "data", "end"] as const)
    t.equal(await thrower(where), "failed with its error", `thrown in the response's ${where}`);
  t.equal(await get(pool, app.origin), "ok", "the next request is answered");
});

t.test("the response-start timeout starts again with every body write and at the body's end", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  // An upload that takes 3 s (a byte every 300 ms), longer than the 1 s the app has to answer.
  const app = createServer((req, res) => {
    let length = 0;
    req.on("data", (chunk: Buffer) => (length += chunk.length));
    req.on("end", () => res.end(`got ${length} bytes`));
  });
  const port = await listen(app, 0);
  t.teardown(() => {
    app.closeAllConnections();
    app.close();
  });
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000, headersTimeoutMs: 1000 });
  t.teardown(() => pool.close());
  const body = new PassThrough();
  let sent = 0;
  const drip = setInterval(() => {
    body.write("x");
    if (++sent === 10) {
      clearInterval(drip);
      body.end();
    }
  }, 300);
  t.teardown(() => clearInterval(drip));
  const answer = await new Promise<string>((resolve, reject) => {
    let text = "";
    pool.dispatch(
      {
        origin: `http://127.0.0.1:${port}`,
        path: "/",
        method: "POST",
        headers: ["content-length", "10"],
        body,
      },
      {
        onResponseData: (_c, chunk) => (text += chunk),
        onResponseEnd: () => resolve(text),
        onResponseError: (_c, error) => reject(error),
      },
    );
  });
  t.equal(answer, "got 10 bytes");
});

t.test("an app's Keep-Alive: timeout=N: its connection is not reused past N − 2 s", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  // node:http says `Keep-Alive: timeout=<keepAliveTimeout in s>`.
  const start = async (keepAliveTimeout: number) => {
    let connections = 0;
    const app = createServer((_req, res) => res.end("ok"));
    app.keepAliveTimeout = keepAliveTimeout;
    app.on("connection", () => connections++);
    const port = await listen(app, 0);
    t.teardown(() => {
      app.closeAllConnections();
      app.close();
    });
    return { origin: `http://127.0.0.1:${port}`, connections: () => connections };
  };
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000 });
  t.teardown(() => pool.close());

  const short = await start(2000); // N = 2: never reused
  t.equal(await get(pool, short.origin), "ok");
  t.equal(await get(pool, short.origin), "ok");
  t.equal(short.connections(), 2, "timeout=2: a connection per request");

  const three = await start(3000); // N = 3: reused, and closed after ~1 s idle, before the app does
  t.equal(await get(pool, three.origin), "ok");
  t.equal(await get(pool, three.origin), "ok");
  t.equal(three.connections(), 1, "timeout=3: reused at once");
  const idleFrom = Date.now();
  while (pool.connections > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const idleMs = Date.now() - idleFrom;
  t.ok(idleMs < 2500, `closed by the pool after ${idleMs} ms idle, before the app's 3 s`);
});

t.test("a 204 or 304 that announces a body: its connection is not reused", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  for (const status of ["204 No Content", "304 Not Modified"]) {
    // The first answer announces a body of 5, sent only when the next request comes on the same
    // connection: a reused connection reads it as that request's response.
    let first: Socket | undefined;
    const app = await scriptedApp(t, (n, socket) => {
      if (n === 0) {
        first = socket;
        return `HTTP/1.1 ${status}\r\nContent-Length: 5\r\n\r\n`;
      }
      return `${socket === first ? "hello" : ""}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`;
    });
    const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000 });
    t.teardown(() => pool.close());
    t.equal(await get(pool, app.origin), "", `${status}: no body`);
    t.equal(await get(pool, app.origin), "ok", "the next request gets its own answer");
    t.equal(app.connections(), 2, "on a new connection");
  }
});

t.test(
  "a status below 100 fails the request at once (a 502, not retried), as on node:http's path",
  async (t) => {
    if ("problem" in binding) throw new Error(binding.problem);
    const app = await scriptedApp(t, () => "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok");
    const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 4000 });
    t.teardown(() => pool.close());
    const error = await get(pool, app.origin).catch((error: Error) => error);
    t.match(error, { code: "HPE_INVALID_STATUS", message: "bad response status 99" });
    t.equal(pool.connections, 0);
  },
);

t.test("an origin with no connection left is forgotten at the next sweep", async (t) => {
  if ("problem" in binding) throw new Error(binding.problem);
  const app = await scriptedApp(
    t,
    () => "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
  );
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 400 }); // a sweep every 50 ms
  t.teardown(() => pool.close());
  t.equal(await get(pool, app.origin), "ok");
  t.equal(pool.origins, 1);
  while (pool.origins > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(pool.connections, 0, "forgotten once its connection closed");
  t.equal(await get(pool, app.origin), "ok", "and made again for the next request");
});
