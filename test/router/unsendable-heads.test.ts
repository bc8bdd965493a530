// An app's response head that node will not write: to an HTTP/2 client, a header it takes once
// only, given twice (X-Content-Type-Options from a framework and again from a middleware), or a
// status HTTP/2 cannot carry; to any client, a reason phrase with a control character (llhttp
// lets it through, node:http refuses it). On both data paths the client gets an answer (the
// first value; a 502 naming the problem), and the router goes on serving: on the raw path the
// error once came out of a parser callback, uncaught, and stopped the process.
import { type ClientHttp2Session, connect as connectH2 } from "node:http2";
import { createServer, type Socket } from "node:net";
import t, { type Test } from "tap";
import { listen } from "../../common/http/listen.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { rawExchange } from "../helpers/raw-http.ts";
import { startRouter } from "../helpers/router.ts";

/** Answers by path, in bytes written as they are: what a framework in any language may send. */
const ANSWERS: Record<string, string> = {
  "/twice":
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Content-Type-Options: nosniff\r\n" +
    "X-Content-Type-Options: other\r\nContent-Length: 2\r\n\r\nok",
  "/600": "HTTP/1.1 600 Whatever\r\nContent-Length: 2\r\n\r\nok",
  "/reason": "HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nok",
  // gRPC's trailers-only answer goes out on its own path (grpc-trailers-only.ts).
  "/grpc-twice":
    "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nContent-Type: application/grpc\r\n" +
    "grpc-status: 5\r\nContent-Length: 0\r\n\r\n",
  "/ok": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
};

async function startRawApp(t: Test): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\r\n\r\n"); end !== -1; end = buffered.indexOf("\r\n\r\n")) {
        const path = buffered.slice(0, end).split(" ")[1] ?? "/";
        buffered = buffered.slice(end + 4);
        socket.write(ANSWERS[path] ?? ANSWERS["/ok"]);
      }
    });
    socket.on("error", () => socket.destroy());
  });
  const port = await listen(server, 0);
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return port;
}

function h2Get(
  session: ClientHttp2Session,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path, ":authority": "heads.default.example.com" });
    let text = "";
    let headers: Record<string, unknown> = {};
    stream.on("response", (h) => (headers = h));
    stream.on("data", (chunk) => (text += chunk));
    stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, text }));
    stream.on("error", reject);
    stream.end();
  });
}

for (const path of ["raw", "node"] as const) {
  t.test(`${path} path: an HTTP/2 client gets an answer, and the router stays up`, async (t) => {
    const appPort = await startRawApp(t);
    const revision = "heads-00001";
    const fake = await startFakeAutoscaler(
      t,
      stateOf(
        [serviceState("heads", [{ revision, percent: 100 }])],
        [revisionState(revision, "heads", { endpoints: [{ pod: "p", url: `http://127.0.0.1:${appPort}` }] })],
      ),
    );
    const router = await startRouter(t, fake.url, { SLUICE_DATA_PATH: path });
    const session = connectH2(router.url);
    session.on("error", () => {});
    t.teardown(() => session.destroy());

    const twice = await h2Get(session, "/twice");
    t.equal(twice.status, 200, twice.text);
    t.equal(twice.headers["x-content-type-options"], "nosniff", "the first value goes on");
    t.equal(twice.text, "ok");

    const bad = await h2Get(session, "/600");
    t.equal(bad.status, 502);
    t.match(bad.text, /^router: the app's response cannot be sent to this client: .*600/);

    const grpc = await h2Get(session, "/grpc-twice");
    t.equal(grpc.status, 200, grpc.text);
    t.equal(grpc.headers["grpc-status"], "5");
    t.equal(grpc.headers["content-type"], "application/grpc");

    const reason = await h2Get(session, "/reason");
    t.equal(reason.status, 200, "HTTP/2 has no reason phrase: nothing to refuse");
    const h1Reason = await rawExchange(
      router.port,
      "GET /reason HTTP/1.1\r\nHost: heads.default.example.com\r\nConnection: close\r\n\r\n",
    );
    t.match(h1Reason, /^HTTP\/1\.1 502 Bad Gateway\r\n/, "an HTTP/1.1 client: a 502, as node:http gives");
    t.match(
      h1Reason,
      /router: the app's response cannot be sent to this client: Invalid character in statusMessage\n$/,
    );

    // HTTP/1.1 carries both: the repeated header as the app sent it, and status 600 as node would.
    const h1 = await rawExchange(
      router.port,
      "GET /twice HTTP/1.1\r\nHost: heads.default.example.com\r\nConnection: close\r\n\r\n",
    );
    t.match(h1, /^HTTP\/1\.1 200 OK\r\n/);
    t.equal(h1.match(/x-content-type-options:/gi)?.length, 2, h1);
    const after = await h2Get(session, "/ok");
    t.equal(after.status, 200, "the same HTTP/2 connection goes on");
    t.equal(router.child.exitCode, null, "the router is still running");
    t.notMatch(router.output(), /uncaught/i);
  });
}
