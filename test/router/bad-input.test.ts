// Bad input at the router and failing upstreams: a clear status, no crash, nothing leaked.
import { spawnSync } from "node:child_process";
import t from "tap";
import { Agent, request } from "undici";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { startApp } from "../helpers/queue-proxy.ts";
import { openSocket, rawExchange } from "../helpers/raw-http.ts";
import { startRouter } from "../helpers/router.ts";

// Both HTTP/1.1 data paths: the raw one (the default) and node:http's (the fallback where the raw
// path is unavailable) answer bad input and failing upstreams alike.
for (const path of ["raw", "node"] as const)
  t.test(`bad input and failing upstreams (${path} path)`, async (t) => {
    const app = await startApp(t, { K_REVISION: "bad-00001" });
    const fake = await startFakeAutoscaler(
      t,
      stateOf(
        [
          serviceState("bad", [{ revision: "bad-00001", percent: 100 }]),
          serviceState("gone", [{ revision: "gone-00001", percent: 100 }]),
        ],
        [
          revisionState("bad-00001", "bad", { endpoints: [{ pod: "p", url: app.url }], timeoutSeconds: 2 }),
          revisionState("gone-00001", "gone", { endpoints: [{ pod: "dead", url: "http://127.0.0.1:1" }] }),
        ],
      ),
    );
    const router = await startRouter(t, fake.url, {
      SLUICE_DATA_PATH: path,
      ROUTER_HEADERS_TIMEOUT_SECONDS: "1",
      ROUTER_TIMEOUT_SLACK_SECONDS: "0",
    });
    t.equal(router.message.dataPath, path, `the router runs the ${path} path`);
    const port = router.port;
    const dispatcher = new Agent();
    t.teardown(() => dispatcher.close());
    const inFlightZero = () =>
      waitFor(
        "router in flight back to 0",
        async () => !/sluice_router_in_flight_requests\{[^}]*\} [1-9]/.test(await router.metrics()),
      );

    t.test("malformed request line and header → 400", async (t) => {
      t.match(
        await rawExchange(port, "THIS IS NOT HTTP\r\n\r\n"),
        /^HTTP\/1\.1 400 [\s\S]*router: malformed request/,
      );
      t.match(
        await rawExchange(port, "GET / HTTP/1.1\r\nHost: bad\r\nBad Header Without Colon\r\n\r\n"),
        /^HTTP\/1\.1 400 /,
      );
    });

    t.test("missing or invalid Host → 400", async (t) => {
      t.match(await rawExchange(port, "GET / HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 400 /);
      t.match(await rawExchange(port, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), /^HTTP\/1\.1 400 /);
      t.match(
        await rawExchange(port, "GET / HTTP/1.1\r\nHost: bad:port\r\n\r\n"),
        /^HTTP\/1\.1 400 [\s\S]*invalid or missing Host header/,
      );
    });

    t.test("oversized headers → 431", async (t) => {
      const response = await rawExchange(
        port,
        `GET / HTTP/1.1\r\nHost: bad\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      );
      t.match(response, /^HTTP\/1\.1 431 [\s\S]*request headers too large/);
    });

    t.test("invalid chunked encoding → 400, and the app's request is cancelled", async (t) => {
      const response = await rawExchange(
        port,
        "POST /hold HTTP/1.1\r\nHost: bad\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n",
      );
      t.match(response, /^HTTP\/1\.1 400 /);
      await waitFor("the app's request to be cancelled", async () => (await app.state()).held === 0);
      await inFlightZero();
    });

    t.test("a body cut short by the client cancels the app's request", async () => {
      const socket = await openSocket(port);
      socket.write("POST /echo HTTP/1.1\r\nHost: bad\r\nContent-Length: 1000000\r\n\r\npartial body");
      await waitFor("the request to reach the app", async () => (await app.state()).inFlight === 1);
      socket.destroy();
      await waitFor("the app's request to be cancelled", async () => (await app.state()).inFlight === 0);
      await inFlightZero();
    });

    t.test("a client that leaves mid-request cancels it at the app", async (t) => {
      const before = (await app.state()).aborted;
      const controller = new AbortController();
      const pending = request(`${router.url}/hold`, {
        dispatcher,
        headers: { host: "bad" },
        signal: controller.signal,
      });
      await waitFor("held at the app", async () => (await app.state()).held === 1);
      controller.abort();
      await t.rejects(pending);
      await waitFor("the app to see the cancel", async () => (await app.state()).aborted === before + 1);
      await inFlightZero();
    });

    t.test("a client too slow to send its headers gets 408", async (t) => {
      const socket = await openSocket(port);
      let received = "";
      socket.on("data", (chunk) => (received += chunk));
      socket.write("GET / HTTP/1.1\r\nHost: bad\r\n");
      await new Promise((resolve) => socket.on("close", resolve));
      t.match(received, /^HTTP\/1\.1 408 /);
    });

    t.test(
      "an upstream that refuses → 502 naming the cause; one that dies mid-response → the client's response is cut",
      async (t) => {
        const refused = await request(`${router.url}/`, { dispatcher, headers: { host: "gone" } });
        t.equal(refused.statusCode, 502, "the pod refused, and so did the activator it was retried through");
        t.equal(
          refused.headers["sluice-revision"],
          "gone-00001",
          "the router's own error names the revision",
        );
        t.match(await refused.body.text(), /router: error talking to the app: ECONNREFUSED/);
        const cut = await request(`${router.url}/reset-mid-response`, {
          dispatcher,
          headers: { host: "bad" },
        });
        t.equal(cut.statusCode, 200, "the status had already been sent");
        await t.rejects(cut.body.text(), "the body ends in an error, not silently short");
        await inFlightZero();
      },
    );

    t.test("a request past its revision's timeout → 504, and it is cancelled at the app", async (t) => {
      const before = (await app.state()).aborted;
      const res = await request(`${router.url}/hold`, { dispatcher, headers: { host: "bad" } });
      t.equal(res.statusCode, 504);
      t.match(await res.body.text(), /router: request timed out after 2s/);
      await waitFor("the app to see the cancel", async () => (await app.state()).aborted === before + 1);
    });

    t.test("the router survived all of it, and counted what it refused", async (t) => {
      const res = await request(`${router.url}/`, { dispatcher, headers: { host: "bad" } });
      t.equal(res.statusCode, 200);
      await res.body.dump();
      await inFlightZero();
      const metrics = await router.metrics();
      t.match(metrics, /sluice_router_unrouted_requests_total\{reason="bad_host"\} [1-9]/);
      t.match(metrics, /sluice_router_upstream_errors_total\{[^}]*revision="gone-00001"[^}]*\} [1-9]/);
      t.match(metrics, /sluice_router_requests_total\{[^}]*revision="bad-00001"[^}]*code="504"\} 1/);
    });
  });

t.test("a bad environment variable stops start-up with a message naming it", async (t) => {
  const result = spawnSync(process.execPath, [`${ROOT}router/main.ts`], {
    env: {
      ...process.env,
      ROUTER_PORT: "http",
      ACTIVATOR_URL: "not a url",
      ROUTER_TLS_CERT_FILE: "/nope.pem",
    },
    encoding: "utf8",
  });
  t.equal(result.status, 2);
  t.match(result.stderr, /ROUTER_PORT="http"/);
  t.match(result.stderr, /ACTIVATOR_URL="not a url": expected http:\/\/host:port/);
  t.match(result.stderr, /ROUTER_TLS_CERT_FILE and ROUTER_TLS_KEY_FILE: set both or neither/);
  t.match(result.stderr, /ROUTER_TLS_CERT_FILE="\/nope.pem": no such file/);
});
