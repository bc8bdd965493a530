// The raw path's upstream pool keeps a connection open between requests until it has been idle
// for the keep-alive timeout: a connection that happens to be idle when the pool's sweep looks
// is not closed then (which cost a reconnect per sweep and connection under load).
import { once } from "node:events";
import { createServer } from "node:http";
import type { Socket } from "node:net";
import t from "tap";
import { listen } from "../../common/http/listen.ts";
import { loadNodeParser } from "../../common/http/raw/node-parser.ts";
import { UpstreamPool } from "../../common/http/raw/upstream-pool.ts";

const binding = loadNodeParser();

function get(pool: UpstreamPool, origin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    pool.dispatch(
      { origin, path: "/", method: "GET" },
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

  const keepAliveTimeoutMs = 400; // the sweep looks every 100 ms
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs });
  t.teardown(() => pool.close());

  t.equal(await get(pool, origin), "ok");
  const idleFrom = Date.now();
  const closed = once(sockets[0], "close");
  for (let i = 0; i < 5; i++) t.equal(await get(pool, origin), "ok");
  t.equal(sockets.length, 1, "one connection for six requests");
  const lastAnswered = Date.now();
  await closed;
  t.ok(
    Date.now() - lastAnswered >= keepAliveTimeoutMs,
    `closed ${Date.now() - lastAnswered} ms after its last request, not before ${keepAliveTimeoutMs} ms`,
  );
  t.ok(Date.now() - idleFrom >= keepAliveTimeoutMs);
  t.equal(pool.connections, 0, "the pool let go of it");
});
