import { connect } from "node:net";
import t from "tap";
import { request } from "undici";
import WebSocket from "ws";
import { startProcess, TEST_HOP_SECRET, waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";

const status = async (url: string, headers: Record<string, string> = {}) => {
  const res = await request(url, { headers });
  await res.body.text();
  return res.statusCode;
};

t.test("readiness follows the app: not ready until it answers, then ready", async (t) => {
  // The app's port must be free until the app starts (the default probe is a TCP connect, so a
  // placeholder listening there would count as ready). A port is found by starting an app and
  // stopping it; another process of the suite may take it before the app starts again. That
  // breaks the test's precondition, not the queue-proxy: seen (something answers before the app
  // runs, or the app finds its port taken), the attempt is repeated on another port.
  for (let attempt = 1; ; attempt++) {
    const placeholder = await startApp(t);
    const port = placeholder.port;
    placeholder.child.kill("SIGKILL");
    await placeholder.exited;

    const qp = await startQueueProxy(t, port, {}, { waitReady: false });
    const before = {
      readyz: await status(`${qp.adminUrl}/readyz`),
      probe: await status(qp.url, { "k-network-probe": "queue", "sluice-hop-auth": TEST_HOP_SECRET }),
    };
    // A long poll asked before the app runs is answered when it becomes ready (not at its 10 s).
    const longPoll = status(`${qp.adminUrl}/readyz?wait=10000`)
      .then((code) => ({ code, at: Date.now() }))
      .catch(() => undefined);
    const appStarting = Date.now();
    const app =
      before.readyz === 503
        ? await startProcess(t, "test/fixtures/app.ts", { PORT: String(port) }).catch((error: Error) =>
            /EADDRINUSE/.test(error.message) ? undefined : Promise.reject(error),
          )
        : undefined;
    if (app === undefined && attempt < 3) {
      t.comment(`attempt ${attempt}: port ${port} was taken by another process; trying another`);
      qp.child.kill("SIGKILL");
      await qp.exited;
      continue;
    }
    t.equal(before.readyz, 503, "no app yet");
    t.equal(await status(`${qp.adminUrl}/healthz`), 200, "alive all the same");
    t.equal(before.probe, 503, "network probe says not ready");

    const answered = await longPoll;
    t.equal(answered?.code, 200, "the long poll (/readyz?wait=) answered once the app was ready");
    t.ok(
      answered !== undefined && answered.at - appStarting < 5000,
      "...when the app came, not when its 10 s wait ran out",
    );
    await waitFor("ready once the app answers", async () => (await status(`${qp.adminUrl}/readyz`)) === 200);
    const probe = await request(qp.url, {
      headers: { "k-network-probe": "queue", "sluice-hop-auth": TEST_HOP_SECRET },
    });
    t.equal(probe.statusCode, 200);
    t.equal(await probe.body.text(), "queue\n");
    return;
  }
});

t.test("an HTTP readiness probe uses the app's path", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(
    t,
    app.port,
    {
      SERVING_READINESS_PROBE: JSON.stringify({ httpGet: { path: "/status?code=500" }, periodSeconds: 1 }),
    },
    { waitReady: false },
  );
  await waitFor(
    "three probes of the path",
    async () => ((await app.state()).requestsByPath["/status"] ?? 0) >= 3,
  );
  t.equal(await status(`${qp.adminUrl}/readyz`), 503, "a 500 from the probe path is not ready");

  const healthy = await startQueueProxy(t, app.port, {
    SERVING_READINESS_PROBE: JSON.stringify({ httpGet: { path: "/status?code=204" } }),
  });
  t.equal(await status(`${healthy.adminUrl}/readyz`), 200, "a 2xx from the probe path is ready");
});

t.test("SIGTERM drains: readiness fails at once, nothing accepted is lost, then it exits", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, {
    CONTAINER_CONCURRENCY: "2",
    QUEUE_DRAIN_QUIET_SECONDS: "0.2",
  });
  const inFlight = [request(`${qp.url}/hold`), request(`${qp.url}/hold`)];
  await waitFor("two at the app", async () => (await app.state()).held === 2);
  const queued = [request(`${qp.url}/`), request(`${qp.url}/`)];
  await waitFor("two queued", async () => (await qp.stats()).queued === 2);

  qp.child.kill("SIGTERM");
  await waitFor("readiness to fail", async () => (await status(`${qp.adminUrl}/readyz`)) === 503);
  t.equal(
    await status(qp.url, { "k-network-probe": "queue", "sluice-hop-auth": TEST_HOP_SECRET }),
    503,
    "the activator's probe sees it too",
  );
  t.equal(qp.child.exitCode, null, "still running while requests are open");

  await app.release();
  for (const res of [...(await Promise.all(inFlight)), ...(await Promise.all(queued))]) {
    t.equal(res.statusCode, 200);
    await res.body.text();
  }
  t.equal(await qp.exited, 0, "exits cleanly once drained");
});

t.test("drain tells WebSocket clients to go away (1001) instead of cutting them", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { QUEUE_DRAIN_QUIET_SECONDS: "0.1" });
  const socket = new WebSocket(`${qp.url.replace("http", "ws")}/ws`);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  const echoed = new Promise((resolve) => socket.once("message", (data) => resolve(String(data))));
  socket.send("ping");
  t.equal(await echoed, "ping", "echo works through the queue-proxy");
  t.equal((await qp.stats()).inFlight, 1, "an open WebSocket holds a slot");

  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  qp.child.kill("SIGTERM");
  t.equal(await closed, 1001, "closed with going away");
  t.equal(await qp.exited, 0);
});

t.test(
  "draining keeps idle keep-alive connections: a request on one is answered, with Connection: close",
  async (t) => {
    const app = await startApp(t);
    const qp = await startQueueProxy(t, app.port, { QUEUE_DRAIN_QUIET_SECONDS: "3" });
    const { port } = new URL(qp.url);
    const socket = connect(Number(port), "127.0.0.1");
    t.teardown(() => socket.destroy());
    let received = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      received += chunk;
    });
    const ask = async (count: number) => {
      socket.write("GET / HTTP/1.1\r\nHost: app\r\n\r\n");
      await waitFor(`answer ${count}`, () => received.split("HTTP/1.1 200").length - 1 === count);
    };
    await ask(1);
    t.match(received, /connection: keep-alive/i, "kept alive before the drain");

    qp.child.kill("SIGTERM");
    await waitFor("draining", async () => (await status(`${qp.adminUrl}/readyz`)) === 503);
    t.notOk(socket.destroyed || socket.readableEnded, "the idle connection was not closed at SIGTERM");
    // A router or activator that has not yet seen the pod leave still sends on its pooled connection.
    await ask(2);
    t.match(received.slice(received.lastIndexOf("HTTP/1.1 200")), /connection: close/i, "answered, closing");
    await waitFor("closed after that answer", () => socket.readableEnded || socket.destroyed);
  },
);
