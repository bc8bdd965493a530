// The router's listeners under their limits, and upgrades: only a WebSocket that the app accepts
// with 101 becomes a tunnel; every other answer (or upgrade token) is an ordinary response.
import type { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import t from "tap";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { headerTimeoutTest } from "../helpers/header-timeout.ts";
import { waitFor } from "../helpers/processes.ts";
import { openSocket } from "../helpers/raw-http.ts";
import { startRouter } from "../helpers/router.ts";
import { testCertificate } from "../helpers/test-certificate.ts";
import { startUpgradeApp, untilClosed, upgradeRequest } from "../helpers/upgrade-app.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HOST = "up.default.example.com";

t.test("router listeners and upgrades", async (t) => {
  const upstream = await startUpgradeApp(t);
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("up", [{ revision: "up-00001", percent: 100 }])],
      [revisionState("up-00001", "up", { endpoints: [{ pod: "p", url: upstream.url }], timeoutSeconds: 4 })],
    ),
  );
  const { cert, key } = testCertificate(t, HOST);
  const router = await startRouter(t, fake.url, {
    ROUTER_HEADERS_TIMEOUT_SECONDS: "1",
    ROUTER_KEEP_ALIVE_TIMEOUT_SECONDS: "0.5",
    ROUTER_TIMEOUT_SLACK_SECONDS: "0",
    ROUTER_MAX_HEADER_BYTES: "8192",
    ROUTER_TLS_CERT_FILE: cert,
    ROUTER_TLS_KEY_FILE: key,
    ROUTER_TLS_PORT: "0",
  });
  const tlsPort = router.message.tlsPort as number;
  const metric = async (pattern: RegExp) => pattern.exec(await router.metrics())?.[1];

  headerTimeoutTest(t, router.port, PREFACE.slice(0, 12), 1000);

  t.test("a WebSocket the app accepts is tunnelled, without the data plane's internal headers", async (t) => {
    const socket = await openSocket(router.port);
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.write(
      upgradeRequest(
        HOST,
        "/echo",
        "websocket",
        "K-Proxy-Request: activator\r\nK-Network-Probe: queue\r\nSluice-Revision: other\r\n",
      ),
    );
    await waitFor("the 101", () => Buffer.concat(received).includes("\r\n\r\n"));
    t.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    t.match(Buffer.concat(received).toString(), /sluice-revision: up-00001/i);
    received.length = 0;
    socket.write("ping through the tunnel");
    await waitFor("the echo", () => Buffer.concat(received).toString() === "ping through the tunnel");
    const seen = upstream.upgrades.at(-1);
    for (const name of ["k-proxy-request", "k-network-probe", "sluice-revision"])
      t.equal(seen?.headers[name], undefined, `${name} stripped`);
    t.equal(seen?.headers.upgrade, "websocket");
    socket.destroy();
  });

  t.test("another upgrade token is an ordinary request", async (t) => {
    const socket = await openSocket(router.port);
    const done = untilClosed(socket);
    socket.write(
      `GET /plain HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
    );
    const answer = await done; // closed once idle (keep-alive timeout)
    t.match(answer, /^HTTP\/1\.1 200 /);
    t.match(answer, /"upgrade":null/, "the app saw no Upgrade header");
    t.notMatch(answer, /^HTTP\/1\.1 101/);
  });

  t.test("a WebSocket upgrade the app answers with 200 is relayed as that response", async (t) => {
    const before = Number((await metric(/sluice_router_requests_total\{[^}]*code="200"[^}]*\} (\d+)/)) ?? 0);
    const socket = await openSocket(router.port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest(HOST, "/refuse"));
    const answer = await done;
    t.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    t.match(answer, /connection: close\r\n/i);
    t.match(answer, /\r\n\r\nnot upgraded\n$/);
    await waitFor("counted in the metrics", async () => {
      const now = Number((await metric(/sluice_router_requests_total\{[^}]*code="200"[^}]*\} (\d+)/)) ?? 0);
      return now === before + 1;
    });
  });

  t.test("an oversized upgrade answer head is refused with 502", async (t) => {
    const socket = await openSocket(router.port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest(HOST, "/big-head"));
    const answer = await done;
    t.match(answer, /^HTTP\/1\.1 502 /);
    t.match(answer, /router: the answer to the upgrade has a head over 8192 bytes/);
  });

  t.test("an upgrade the app never answers times out with the revision", async (t) => {
    const socket = await openSocket(router.port);
    const done = untilClosed(socket);
    socket.write(upgradeRequest(HOST, "/hang"));
    const answer = await done;
    t.match(answer, /^HTTP\/1\.1 504 /);
    await waitFor(
      "nothing left in flight",
      async () => !/sluice_router_in_flight_requests\{[^}]*\} [1-9]/.test(await router.metrics()),
    );
  });

  t.test("the TLS port's HTTP/1.1 side runs under the same settings", async (t) => {
    const tls = () =>
      new Promise<Socket>((resolve, reject) => {
        const socket = tlsConnect(
          { host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] },
          () => resolve(socket),
        );
        socket.once("error", reject);
      });
    // Header timeout: 1 s (node's own for HTTPS/1.1 would be 60 s).
    const slow = await tls();
    const slowDone = untilClosed(slow);
    slow.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
    t.match(await slowDone, /^HTTP\/1\.1 408 [\s\S]*router: request not received in time/);
    // Header size: the router's, answered 431 like the plain port.
    const big = await tls();
    const bigDone = untilClosed(big);
    big.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${"a".repeat(10_000)}\r\n\r\n`);
    t.match(await bigDone, /^HTTP\/1\.1 431 /);
    // A request that outlasts the header and keep-alive timeouts is answered in full, then the
    // connection is closed once idle. Node's 300 s request timeout is set to none by the same call
    // that set the two timeouts just seen in effect.
    const long = await tls();
    const longDone = untilClosed(long);
    long.write(`GET /slow HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    t.match(await longDone, /^HTTP\/1\.1 200 [\s\S]*"url":"\/slow"/);
  });
});
