// The admin port answers the same on both HTTP/1.1 paths: node:http, and the raw path (which the
// queue-proxy, router and activator use when they run it, so that a queue-proxy never loads
// node:http). Upgrade requests, which the raw path hands over, get the same answers.
import { Server as HttpServer } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { Registry } from "prom-client";
import t from "tap";
import { createAdminServer } from "../../common/http/admin-server.ts";
import { DEFAULT_LIMITS } from "../../common/http/listener-limits.ts";
import { sendJson } from "../../common/http/respond.ts";
import { openSocket, rawExchange } from "../helpers/raw-http.ts";
import { rawParser } from "../helpers/raw-parser.ts";

const parser = rawParser();

/** An admin server on `path` whose readiness the test sets, and whose long polls it sees. */
async function startAdmin(t: { teardown(fn: () => unknown): void }, path: "node" | "raw") {
  let ready = false;
  const polls: { signal: AbortSignal; done: () => void }[] = [];
  const pollArrived: (() => void)[] = [];
  const server: Server = createAdminServer({
    registry: new Registry(),
    isReady: () => ready,
    whenReady: (_timeoutMs, signal) =>
      new Promise<void>((resolve) => {
        polls.push({ signal, done: resolve });
        signal.addEventListener("abort", () => resolve());
        pollArrived.shift()?.();
      }),
    routes: {
      "/stats": (_req, res) => sendJson(res, 200, { inFlight: 0 }),
      "/broken": () => {
        throw new Error("it broke");
      },
    },
    name: "test admin port",
    // Longer than the test's timeout: only close() can end an idle connection here.
    limits: { ...DEFAULT_LIMITS, keepAliveTimeoutMs: 600_000 },
    raw: path === "raw" ? parser : undefined,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p: string) => `http://127.0.0.1:${port}${p}`,
    port,
    server,
    polls,
    nextPoll: () => new Promise<void>((resolve) => pollArrived.push(resolve)),
    setReady(value: boolean) {
      ready = value;
    },
  };
}

for (const path of ["node", "raw"] as const) {
  t.test(`admin port on the ${path} path`, async (t) => {
    const admin = await startAdmin(t, path);
    t.equal(
      admin.server instanceof HttpServer,
      path === "node",
      `served by ${path === "node" ? "node:http" : "the raw path"}`,
    );

    const healthz = await fetch(admin.url("/healthz"));
    t.equal(healthz.status, 200, "/healthz");
    t.equal(await healthz.text(), "ok\n");

    const notReady = await fetch(admin.url("/readyz"));
    t.equal(notReady.status, 503, "/readyz while not ready");
    t.equal(await notReady.text(), "not ready\n");

    // A long poll answers when readiness comes, not at its timeout.
    const polled = admin.nextPoll();
    const longPoll = fetch(admin.url("/readyz?wait=5000"));
    await polled;
    admin.setReady(true);
    admin.polls[0].done();
    const answered = await longPoll;
    t.equal(answered.status, 200, "/readyz?wait= answers 200 once ready");
    t.equal(await answered.text(), "ready\n");
    admin.setReady(false);

    // An asker that goes away ends its wait (nothing is left waiting for the app).
    const abandoned = new AbortController();
    const polledAgain = admin.nextPoll();
    const gone = fetch(admin.url("/readyz?wait=5000"), { signal: abandoned.signal }).catch(() => "aborted");
    await polledAgain;
    abandoned.abort();
    t.equal(await gone, "aborted");
    const { signal } = admin.polls[1];
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
    t.ok(signal.aborted, "the wait is aborted when its asker closes the connection");

    const metrics = await fetch(admin.url("/metrics"));
    t.equal(metrics.status, 200, "/metrics");
    t.match(metrics.headers.get("content-type"), /^text\/plain/);
    await metrics.text();

    const stats = await fetch(admin.url("/stats"));
    t.same(await stats.json(), { inFlight: 0 }, "a component's own route");

    const unknown = await fetch(admin.url("/nope?x=1"));
    t.equal(unknown.status, 404);
    t.equal(await unknown.text(), "no admin endpoint /nope\n", "an unknown path is named");

    const broken = await fetch(admin.url("/broken"));
    t.equal(broken.status, 500);
    t.equal(await broken.text(), "admin endpoint /broken failed: it broke\n", "a failing route says why");

    // Two requests on one connection, pipelined: both answered, in order.
    const pipelined = await rawExchange(
      admin.port,
      "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    t.match(pipelined, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok\nHTTP\/1\.1 404 Not Found\r\n/, "pipelined");

    // An upgrade request is answered as any request (the raw path hands it to node:http).
    const upgrade = await rawExchange(
      admin.port,
      "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    t.match(upgrade, /^HTTP\/1\.1 200 OK\r\n/, "an upgrade request gets /healthz's answer");
    t.match(upgrade, /\r\n\r\nok\n$/);

    const garbage = await rawExchange(admin.port, "NOT HTTP AT ALL\r\n\r\n");
    t.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/, "a request that is not HTTP: 400");

    // Closing the port closes a kept-alive idle connection too (a process stopping is not held).
    const idle = await openSocket(admin.port);
    const idleClosed = new Promise<string>((resolve) => {
      let received = "";
      idle.on("data", (chunk) => {
        received += chunk;
        if (received.endsWith("ok\n")) admin.server.close();
      });
      idle.on("close", () => resolve(received));
    });
    idle.write("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    t.match(await idleClosed, /^HTTP\/1\.1 200 OK\r\n/, "closed after its answer, by close()");
  });
}
