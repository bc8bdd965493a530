// The shared exchange over real sockets, through router → queue-proxy → app and router →
// activator → queue-proxy → app: a request body that starts long after its head (longer than
// every hop's header timeout) still gets through, and one that never comes is answered at the
// revision's deadline without holding a pod slot meanwhile.
import { connect } from "node:http2";
import t from "tap";
import { request } from "undici";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";
import { openSocket } from "../helpers/raw-http.ts";
import { startRouter } from "../helpers/router.ts";

// Every hop closes a connection whose request head is not complete within a second, and one idle
// between requests after a second (so no pooled connection is reused either): a hop that sent the
// head upstream only with the first body byte would lose its request after ~1 s.
const TIMEOUT = "1";
const LATE_MS = 2000;

interface Answer {
  status: number;
  text: string;
  ms: number;
}

/** Sends a request head, then after `delayMs` its body (unless undefined); reads until close. */
async function lateBody(
  port: number,
  host: string,
  body: string | undefined,
  delayMs: number,
): Promise<Answer> {
  const socket = await openSocket(port);
  const started = performance.now();
  const length = body === undefined ? 3 : Buffer.byteLength(body);
  socket.write(
    `POST /echo HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
  );
  const timer = body === undefined ? undefined : setTimeout(() => socket.write(body), delayMs);
  let received = "";
  socket.on("data", (chunk) => (received += chunk));
  await new Promise((resolve) => {
    socket.once("close", resolve);
    socket.on("error", () => socket.destroy());
  });
  clearTimeout(timer);
  const ms = performance.now() - started;
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
  const rest = received.slice(received.indexOf("\r\n\r\n") + 4);
  // The echo streams back chunked; the data plane's own answers carry a length.
  const text = /transfer-encoding: chunked/i.test(received) ? unchunk(rest) : rest;
  return { status, text, ms };
}

function unchunk(body: string): string {
  let out = "";
  for (let at = 0; ; ) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd === -1) return out;
    const size = Number.parseInt(body.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

t.test("a late request body, through every hop; a body that never comes", async (t) => {
  const app = await startApp(t, { K_REVISION: "direct-00001" });
  const qp = await startQueueProxy(t, app.port, {
    QUEUE_HEADERS_TIMEOUT_SECONDS: TIMEOUT,
    QUEUE_KEEP_ALIVE_TIMEOUT_SECONDS: TIMEOUT,
  });
  const endpoints = [{ pod: "p", url: qp.url }];
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [
        serviceState("direct", [{ revision: "direct-00001", percent: 100 }]),
        serviceState("held", [{ revision: "held-00001", percent: 100 }]),
        serviceState("stall", [{ revision: "stall-00001", percent: 100 }]),
      ],
      [
        revisionState("direct-00001", "direct", { endpoints }),
        revisionState("held-00001", "held", { mode: "proxy", endpoints }),
        // One pod slot and a 1 s timeout (the router allows 1 s of slack on top).
        revisionState("stall-00001", "stall", { containerConcurrency: 1, timeoutSeconds: 1, endpoints }),
      ],
    ),
  );
  const activator = await startProcess(t, "activator/main.ts", {
    ACTIVATOR_PORT: "0",
    ACTIVATOR_ADMIN_PORT: "0",
    AUTOSCALER_URL: fake.url,
    ACTIVATOR_HEADERS_TIMEOUT_SECONDS: TIMEOUT,
    ACTIVATOR_KEEP_ALIVE_TIMEOUT_SECONDS: TIMEOUT,
  });
  const router = await startRouter(t, fake.url, {
    ACTIVATOR_URL: `http://127.0.0.1:${activator.message.port}`,
    ROUTER_HEADERS_TIMEOUT_SECONDS: TIMEOUT,
  });
  await waitFor("the activator serving the held revision", async () => {
    const res = await request(`${router.url}/`, { headers: { host: "held.default.example.com" } });
    await res.body.dump();
    return res.statusCode === 200;
  });

  t.test("router → queue-proxy → app: the body 2 s after the head is echoed", async (t) => {
    const answer = await lateBody(router.port, "direct.default.example.com", "abc", LATE_MS);
    t.equal(answer.status, 200, answer.text);
    t.equal(answer.text, "abc");
    t.ok(answer.ms >= LATE_MS, `answered after the body came (${Math.round(answer.ms)} ms)`);
  });

  t.test("router → activator → queue-proxy → app: the same", async (t) => {
    const answer = await lateBody(router.port, "held.default.example.com", "abc", LATE_MS);
    t.equal(answer.status, 200, answer.text);
    t.equal(answer.text, "abc");
  });

  t.test("an HTTP/2 client → router → queue-proxy → app: the same", async (t) => {
    const session = connect(router.url);
    // The router is stopped by the parent's teardown, maybe before this session's close is done:
    // a reset then is no failure of the test.
    session.on("error", () => {});
    t.teardown(() => session.destroy());
    const started = performance.now();
    const stream = session.request({
      ":method": "POST",
      ":path": "/echo",
      ":authority": "direct.default.example.com",
    });
    setTimeout(() => stream.end("abc"), LATE_MS);
    const status = await new Promise<number>((resolve) =>
      stream.once("response", (h) => resolve(Number(h[":status"]))),
    );
    let text = "";
    for await (const chunk of stream) text += chunk;
    t.equal(status, 200, text);
    t.equal(text, "abc");
    t.ok(performance.now() - started >= LATE_MS);
    // The app's reason phrase is HTTP/1's alone: handing it to an HTTP/2 answer makes node warn.
    t.notMatch(router.output(), /Status message is not supported/);
  });

  t.test("a body that never comes: 408 at the deadline, and no pod slot held meanwhile", async (t) => {
    const stalled = lateBody(router.port, "stall.default.example.com", undefined, 0);
    // The revision's only pod slot stays free for others while the first client dawdles.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const other = await request(`${router.url}/headers`, { headers: { host: "stall.default.example.com" } });
    await other.body.dump();
    t.equal(other.statusCode, 200);
    const answer = await stalled;
    t.equal(answer.status, 408, answer.text);
    t.match(answer.text, /router: the request body did not arrive within 2s/);
    t.ok(answer.ms >= 1900 && answer.ms < 4000, `at the deadline (${Math.round(answer.ms)} ms)`);
    await qp.settled();
    t.equal((await app.state()).inFlight, 0, "the app never saw it");
  });
});
