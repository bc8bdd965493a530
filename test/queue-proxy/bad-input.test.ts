import type { Socket } from "node:net";
import t from "tap";
import { request } from "undici";
import { headerTimeoutTest } from "../helpers/header-timeout.ts";
import { waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";
import { openSocket, rawExchange } from "../helpers/raw-http.ts";
import { untilClosed } from "../helpers/upgrade-app.ts";

// Both HTTP/1.1 data paths: the raw one (the default) and node:http's (the fallback where the raw
// path is unavailable).
for (const path of ["raw", "node"] as const)
  t.test(`bad input gets a clear status and leaks nothing (${path} path)`, async (t) => {
    const app = await startApp(t);
    const qp = await startQueueProxy(t, app.port, {
      SLUICE_DATA_PATH: path,
      CONTAINER_CONCURRENCY: "2",
      QUEUE_HEADERS_TIMEOUT_SECONDS: "1",
      QUEUE_KEEP_ALIVE_TIMEOUT_SECONDS: "0.2",
    });
    t.equal(qp.message.dataPath, path, `the queue-proxy runs the ${path} path`);
    const port = Number(new URL(qp.url).port);

    t.test("malformed request line → 400", async (t) => {
      const response = await rawExchange(port, "THIS IS NOT HTTP\r\n\r\n");
      t.match(response, /^HTTP\/1\.1 400 /);
      t.match(response, /queue-proxy: malformed request/);
    });

    t.test("malformed header → 400", async (t) => {
      const response = await rawExchange(
        port,
        "GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
      );
      t.match(response, /^HTTP\/1\.1 400 /);
    });

    t.test("oversized headers → 431", async (t) => {
      const response = await rawExchange(
        port,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      );
      t.match(response, /^HTTP\/1\.1 431 /);
      t.match(response, /request headers too large/);
    });

    t.test("invalid chunked encoding → 400, and the app's request is cancelled", async (t) => {
      const response = await rawExchange(
        port,
        "POST /hold HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n",
      );
      t.match(response, /^HTTP\/1\.1 400 /);
      t.match(response, /malformed request body framing/);
      await waitFor("the app's request to be cancelled", async () => (await app.state()).held === 0);
      await qp.settled();
    });

    t.test("a body cut short by the client frees the slot", async () => {
      const socket = await openSocket(port);
      socket.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npartial body");
      await waitFor("the request to reach the app", async () => (await app.state()).inFlight === 1);
      socket.destroy();
      await waitFor("the app's request to be cancelled", async () => (await app.state()).inFlight === 0);
      await qp.settled();
    });

    t.test("a client that leaves while its request is at the app cancels it", async (t) => {
      const before = (await app.state()).aborted;
      const controller = new AbortController();
      const pending = request(`${qp.url}/hold`, { signal: controller.signal });
      await waitFor("held at the app", async () => (await app.state()).held === 1);
      controller.abort();
      await t.rejects(pending);
      await waitFor("the app to see the cancel", async () => (await app.state()).aborted === before + 1);
      await qp.settled();
    });

    t.test("a client that leaves while queued leaves the queue", async (t) => {
      const holders = [request(`${qp.url}/hold`), request(`${qp.url}/hold`)];
      await waitFor("two at the app", async () => (await app.state()).held === 2);
      const controller = new AbortController();
      const queued = request(`${qp.url}/`, { signal: controller.signal });
      await waitFor("one queued", async () => (await qp.stats()).queued === 1);
      controller.abort();
      await t.rejects(queued);
      await waitFor("queue empty", async () => (await qp.stats()).queued === 0);
      t.equal((await qp.stats()).inFlight, 2, "the held requests still hold their slots");
      await app.release();
      for (const res of await Promise.all(holders)) t.equal(res.statusCode, 200);
      await qp.settled();
    });

    t.test("a client too slow to send its headers gets 408", async (t) => {
      const socket = await openSocket(port);
      let received = "";
      socket.on("data", (chunk) => (received += chunk));
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n"); // never finishes the headers
      await new Promise((resolve) => socket.on("close", resolve));
      t.match(received, /^HTTP\/1\.1 408 /);
    });

    headerTimeoutTest(t, port, "PRI * HTTP/2.0\r\n", 1000);

    t.test("an idle keep-alive connection is closed", async (t) => {
      const socket = await openSocket(port);
      const done = untilClosed(socket);
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      t.match(await done, /^HTTP\/1\.1 200 [\s\S]*hello/, "answered, then closed once idle");
    });

    t.test("the queue-proxy survived all of it", async (t) => {
      const res = await request(`${qp.url}/`);
      t.equal(res.statusCode, 200);
      await res.body.text();
      const stats = await qp.settled();
      t.equal(stats.inFlight + stats.queued, 0);
    });
  });

t.test("the connection cap refuses extra connections, keeps serving the open ones, logs once", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { QUEUE_MAX_CONNECTIONS: "2" });
  const port = Number(new URL(qp.url).port);
  const ask = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once("data", (chunk) => resolve(String(chunk)));
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    });
  const open = [await openSocket(port), await openSocket(port)];
  t.teardown(() => {
    for (const socket of open) socket.destroy();
  });
  for (const socket of open) t.match(await ask(socket), /^HTTP\/1\.1 200 /);
  for (let i = 0; i < 3; i++) {
    const extra = await openSocket(port);
    extra.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    t.equal(await untilClosed(extra), "", "refused");
  }
  for (const socket of open) t.match(await ask(socket), /^HTTP\/1\.1 200 /, "still served");
  const lines = () => qp.output().match(/connection limit reached \(2 open\)/g) ?? [];
  await waitFor("the log line", () => lines().length > 0);
  t.equal(lines().length, 1, "one line for the burst");
});

t.test("a bad environment variable stops start-up with a message naming it", async (t) => {
  const { spawnSync } = await import("node:child_process");
  const { ROOT } = await import("../helpers/processes.ts");
  const result = spawnSync(process.execPath, [`${ROOT}queue-proxy/main.ts`], {
    env: {
      ...process.env,
      CONTAINER_CONCURRENCY: "many",
      REVISION_TIMEOUT_SECONDS: "-5",
      USER_PORT: "70000",
      LOG_LEVEL: "loud",
    },
    encoding: "utf8",
  });
  t.equal(result.status, 2);
  t.match(result.stderr, /CONTAINER_CONCURRENCY="many": expected an integer/);
  t.match(result.stderr, /REVISION_TIMEOUT_SECONDS="-5"/);
  t.match(result.stderr, /USER_PORT="70000"/);
  t.match(result.stderr, /LOG_LEVEL="loud": expected one of trace, debug, info, warn, error, fatal, silent/);
});
