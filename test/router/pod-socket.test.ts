// A local pod's queue-proxy serves on a Unix socket beside its port (QUEUE_SERVING_SOCKET): the
// raw path's router and activator connect there, node:http's path keeps the URL; a socket that
// cannot be connected to sends the connection to the port.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer } from "node:net";
import t, { type Test } from "tap";
import { request } from "undici";
import { forwardingServer, listen, listenOnSocket, unixSocketPathProblem } from "../../common/http/listen.ts";
import { loadNodeParser } from "../../common/http/raw/node-parser.ts";
import { UpstreamPool } from "../../common/http/raw/upstream-pool.ts";
import { startActivator } from "../helpers/data-plane.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startQueueProxy } from "../helpers/queue-proxy.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { startRouter } from "../helpers/router.ts";
import { tempDir, tempPath } from "../helpers/temp.ts";
import { startDifferentialApp } from "./differential-app.ts";

const HOST = { host: "sock.default.example.com" };

function socketState(url: string, socket: string, mode: "serve" | "proxy" = "serve") {
  return stateOf(
    [serviceState("sock", [{ revision: "sock-00001", percent: 100 }])],
    [revisionState("sock-00001", "sock", { mode, endpoints: [{ pod: "p", url, socket }] })],
  );
}

/** An HTTP server on a Unix socket that answers every request with `text`. */
async function socketAnswering(t: Test, path: string, text: string): Promise<HttpServer> {
  const server = createHttpServer((_req, res) => res.end(text));
  await listenOnSocket(server, path, "stand-in");
  t.teardown(() => server.close());
  return server;
}

t.test("the raw path's router reaches a pod on its socket, node:http's on its URL", async (t) => {
  const app = await startDifferentialApp();
  t.teardown(app.close);
  const socket = tempPath(t, "queue-proxy.sock");
  const qp = await startQueueProxy(t, app.port, { QUEUE_SERVING_SOCKET: socket });
  t.ok(existsSync(socket), "the queue-proxy listens on its socket");

  // The URL goes nowhere: only the socket can answer.
  const dead = `http://127.0.0.1:${await refusedPort(t)}`;
  const rawFake = await startFakeAutoscaler(t, socketState(dead, socket));
  const raw = await startRouter(t, rawFake.url, { SLUICE_DATA_PATH: "raw" });
  const res = await request(`${raw.url}/d/len/5`, { headers: HOST });
  t.equal(res.statusCode, 200, "answered through the socket");
  t.equal(await res.body.text(), "aaaaa");
  const post = await request(`${raw.url}/d/echo`, {
    method: "POST",
    headers: HOST,
    body: "x".repeat(70_000),
  });
  t.equal(post.statusCode, 200);
  t.equal((await post.body.text()).length, 70_000, "a body both ways");

  // The socket goes nowhere: node:http's path must use the URL.
  const nodeFake = await startFakeAutoscaler(t, socketState(qp.url, tempPath(t, "none.sock")));
  const node = await startRouter(t, nodeFake.url, { SLUICE_DATA_PATH: "node" });
  const viaUrl = await request(`${node.url}/d/len/2`, { headers: HOST });
  t.equal(viaUrl.statusCode, 200, "answered on the URL");
  t.equal(await viaUrl.body.text(), "aa");

  qp.child.kill("SIGTERM");
  await qp.exited;
  t.notOk(existsSync(socket), "the queue-proxy removes its socket as it exits");
});

t.test("the activator sends a held request to the pod's socket", async (t) => {
  const app = await startDifferentialApp();
  t.teardown(app.close);
  // The real queue-proxy on the URL answers the activator's probe; the socket is a stand-in, so
  // the answer tells which one the request went to.
  const qp = await startQueueProxy(t, app.port);
  const socket = tempPath(t, "stand-in.sock");
  await socketAnswering(t, socket, "via the socket");
  const fake = await startFakeAutoscaler(t, socketState(qp.url, socket, "proxy"));
  const activator = await startActivator(t, fake.url);
  const router = await startRouter(t, fake.url, { SLUICE_DATA_PATH: "raw", ACTIVATOR_URL: activator.url });
  const res = await request(`${router.url}/d/len/3`, { headers: HOST });
  t.equal(res.statusCode, 200);
  t.equal(await res.body.text(), "via the socket", "router → activator → the pod's socket");
});

t.test(
  "a socket that cannot be connected to: the pod's port answers, or its refusal is the error",
  async (t) => {
    const app = await startDifferentialApp();
    t.teardown(app.close);
    const qp = await startQueueProxy(t, app.port);
    // The socket file is gone (cleaned away) but the pod lives: it keeps serving, on its port.
    const gone = tempPath(t, "gone.sock");
    const fake = await startFakeAutoscaler(t, socketState(qp.url, gone));
    const router = await startRouter(t, fake.url, { SLUICE_DATA_PATH: "raw" });
    const res = await request(`${router.url}/d/len/4`, { headers: HOST });
    t.equal(res.statusCode, 200, "answered on the port");
    t.equal(await res.body.text(), "aaaa");

    // The pod is gone too: the port's refusal is a connect failure, retried through the activator.
    const activator = createHttpServer((_req, res) => res.end("activator"));
    const activatorPort = await listen(activator, 0);
    t.teardown(() => activator.close());
    const deadFake = await startFakeAutoscaler(
      t,
      socketState(`http://127.0.0.1:${await refusedPort(t)}`, gone),
    );
    const retrying = await startRouter(t, deadFake.url, {
      SLUICE_DATA_PATH: "raw",
      ACTIVATOR_URL: `http://127.0.0.1:${activatorPort}`,
    });
    const retried = await request(`${retrying.url}/`, { headers: HOST });
    t.equal(retried.statusCode, 200);
    t.equal(await retried.body.text(), "activator", "retried through the activator");
  },
);

t.test("a socket whose accept queue is full: new connections go to the same pod's port", async (t) => {
  const binding = loadNodeParser();
  if ("problem" in binding) throw new Error(binding.problem);
  const app = createHttpServer((_req, res) => res.end("over tcp"));
  const port = await listen(app, 0);
  t.teardown(() => app.close());
  // A queue-proxy stand-in that stops accepting for a while: a backlog of 1, its event loop blocked.
  const path = tempPath(t, "full.sock");
  const busy = spawn(
    process.execPath,
    [
      "-e",
      `require("node:http").createServer((req, res) => res.end("over the socket"))
        .listen({ path: ${JSON.stringify(path)}, backlog: 1 }, () => {
          console.log("up");
          const until = Date.now() + 1500;
          while (Date.now() < until);
        })`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  t.teardown(() => busy.kill("SIGKILL"));
  await once(busy.stdout, "data");
  const pool = new UpstreamPool(binding, { keepAliveTimeoutMs: 1000 });
  t.teardown(() => pool.close());
  const send = () =>
    new Promise<string>((resolve, reject) => {
      let body = "";
      pool.dispatch(
        { origin: `http://127.0.0.1:${port}`, socketPath: path, path: "/", method: "GET" },
        {
          onResponseData: (_controller, chunk) => (body += chunk),
          onResponseEnd: () => resolve(body),
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
  const bodies = await Promise.all(Array.from({ length: 20 }, send));
  // The few the full queue took are answered once the stand-in accepts again.
  t.ok(bodies.includes("over tcp"), "the queue's overflow went to the port");
  t.same(
    [...new Set(bodies)].filter((body) => body !== "over tcp" && body !== "over the socket"),
    [],
  );
});

t.test(
  "QUEUE_SERVING_SOCKET: a stale socket is replaced; a live one, another file or a bad path is refused",
  async (t) => {
    t.equal(unixSocketPathProblem("/tmp/x.sock"), undefined);
    t.equal(unixSocketPathProblem("x.sock"), "must be an absolute path");
    t.match(
      unixSocketPathProblem(`/${"d".repeat(120)}`),
      /is 121 bytes long; a Unix socket's path holds at most 107/,
    );

    const dir = tempDir(t);
    const server = createServer((socket) => {
      socket.on("error", () => {}); // the check for a live socket connects and hangs up
      socket.end("served\n");
    });
    await listen(server, 0);
    t.teardown(() => server.close());
    // A socket left behind by a killed process: bound, then the process gone without unlinking it.
    const path = `${dir}/stale.sock`;
    const killed = spawnSync(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    t.equal(killed.signal, "SIGKILL");
    t.ok(existsSync(path), "the killed process left its socket");
    const extra = forwardingServer(server);
    await listenOnSocket(extra, path, "test socket");
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ path });
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    t.equal(reply, "served\n", "the socket's connections are the server's");

    await t.rejects(
      listenOnSocket(forwardingServer(server), path, "test socket"),
      /test socket: cannot listen on .*\/stale\.sock: another process is listening there/,
    );
    t.ok(existsSync(path), "a live socket is left alone");
    await new Promise((resolve) => extra.close(resolve));
    t.notOk(existsSync(path), "closing removes the socket");

    const file = `${dir}/file`;
    writeFileSync(file, "mine");
    await t.rejects(
      listenOnSocket(forwardingServer(server), file, "test socket"),
      /test socket: cannot listen on .*\/file: .*EADDRINUSE/,
    );
    t.ok(existsSync(file), "a file that is not a socket is left alone");

    const qp = await startQueueProxy(
      t,
      1,
      { QUEUE_SERVING_SOCKET: "relative.sock" },
      { waitReady: false },
    ).catch((error: Error) => error);
    t.match(String(qp), /QUEUE_SERVING_SOCKET=relative\.sock: must be an absolute path/);
  },
);
