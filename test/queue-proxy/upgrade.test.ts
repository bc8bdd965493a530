// Upgrades at the queue-proxy: a WebSocket the app accepts holds a breaker slot while open; any
// other answer is an ordinary response that frees its slot; the app's answer head is bounded and
// the revision timeout applies until the app answers.
import t from "tap";
import { waitFor } from "../helpers/processes.ts";
import { startQueueProxy } from "../helpers/queue-proxy.ts";
import { openSocket } from "../helpers/raw-http.ts";
import { startUpgradeApp, untilClosed, upgradeRequest } from "../helpers/upgrade-app.ts";

t.test("queue-proxy upgrades", async (t) => {
  const app = await startUpgradeApp(t);
  const qp = await startQueueProxy(t, app.port, {
    CONTAINER_CONCURRENCY: "1",
    REVISION_TIMEOUT_SECONDS: "1",
    QUEUE_MAX_HEADER_BYTES: "8192",
    QUEUE_KEEP_ALIVE_TIMEOUT_SECONDS: "0.2",
    // The app here answers no readiness probe path; its port is open, which is enough.
  });
  const port = Number(new URL(qp.url).port);

  t.test("a WebSocket the app accepts holds the slot while open, without internal headers", async (t) => {
    const socket = await openSocket(port);
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.write(upgradeRequest("x", "/echo", "websocket", "K-Proxy-Request: activator\r\n"));
    await waitFor("the 101", () => Buffer.concat(received).includes("\r\n\r\n"));
    t.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 101 /);
    t.equal((await qp.stats()).inFlight, 1);
    t.equal(app.upgrades.at(-1)?.headers["k-proxy-request"], undefined, "never reaches the app");
    socket.destroy();
    await qp.settled();
  });

  t.test("a WebSocket upgrade answered 200 is an ordinary response that frees its slot", async (t) => {
    const socket = await openSocket(port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest("x", "/refuse"));
    const answer = await done;
    t.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nnot upgraded\n$/);
    await qp.settled();
  });

  t.test("another upgrade token is an ordinary request", async (t) => {
    const socket = await openSocket(port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest("x", "/plain", "h2c"));
    const answer = await done; // closed once idle (keep-alive timeout)
    t.match(answer, /^HTTP\/1\.1 200 [\s\S]*"upgrade":null/);
    await qp.settled();
  });

  t.test("an oversized answer head is refused with 502", async (t) => {
    const socket = await openSocket(port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest("x", "/big-head"));
    t.match(
      await done,
      /^HTTP\/1\.1 502 [\s\S]*queue-proxy: the answer to the upgrade has a head over 8192 bytes/,
    );
    await qp.settled();
  });

  t.test("an upgrade the app never answers gets 504 at the revision timeout", async (t) => {
    const socket = await openSocket(port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest("x", "/hang"));
    t.match(await done, /^HTTP\/1\.1 504 /);
    await qp.settled();
  });

  t.test("a second upgrade waits for the slot; leaving the queue frees it", async () => {
    const holder = await openSocket(port);
    const received: Buffer[] = [];
    holder.on("data", (chunk) => received.push(chunk));
    holder.write(upgradeRequest("x", "/echo"));
    await waitFor("the 101", () => Buffer.concat(received).includes("\r\n\r\n"));
    const waiter = await openSocket(port);
    waiter.write(upgradeRequest("x", "/echo"));
    await waitFor("one queued", async () => (await qp.stats()).queued === 1);
    waiter.destroy();
    await waitFor("queue empty", async () => (await qp.stats()).queued === 0);
    holder.destroy();
    await qp.settled();
  });
});
