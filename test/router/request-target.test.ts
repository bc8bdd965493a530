// The request target and host a request reaches the app with, over real sockets through router →
// queue-proxy → app: an absolute-form target is brought to origin form when it names the Host and
// refused when it names another host (RFC 9112 §3.2.2); OPTIONS * is answered at the first hop;
// over HTTP/2 the :authority is the host, and a Host naming another is refused (RFC 9113 §8.3.1).
import { createServer } from "node:http";
import { connect } from "node:http2";
import t from "tap";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startQueueProxy } from "../helpers/queue-proxy.ts";
import { rawExchange } from "../helpers/raw-http.ts";
import { startRouter } from "../helpers/router.ts";

const HOST = "web.default.example.com";

interface Seen {
  url: string;
  host: string | undefined;
}

t.test("request targets and hosts through router → queue-proxy → app", async (t) => {
  const seen: Seen[] = [];
  const app = createServer((req, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host });
    const body = JSON.stringify({ url: req.url, host: req.headers.host });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    app.closeAllConnections();
    app.close();
  });
  const appPort = (app.address() as { port: number }).port;
  const qp = await startQueueProxy(t, appPort, { SERVING_REVISION: "web-00001" });
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [serviceState("web", [{ revision: "web-00001", percent: 100 }])],
      [revisionState("web-00001", "web", { endpoints: [{ pod: "p", url: qp.url }] })],
    ),
  );
  const router = await startRouter(t, fake.url);
  const raw = (head: string) => rawExchange(router.port, `${head}\r\n\r\n`);
  const statusOf = (answer: string) => Number(answer.slice(9, 12));
  const bodyOf = (answer: string) => answer.slice(answer.indexOf("\r\n\r\n") + 4);

  t.test("absolute form naming the Host: the app sees origin form", async (t) => {
    const answer = await raw(`GET http://${HOST.toUpperCase()}:80/x?y=1 HTTP/1.1\r\nHost: ${HOST}`);
    t.equal(statusOf(answer), 200, answer);
    t.same(JSON.parse(bodyOf(answer)), { url: "/x?y=1", host: HOST });
  });

  t.test("absolute form naming another host: 400 naming both, nothing forwarded", async (t) => {
    const before = seen.length;
    const answer = await raw(`GET http://evil.example/x HTTP/1.1\r\nHost: ${HOST}`);
    t.equal(statusOf(answer), 400, answer);
    t.equal(
      bodyOf(answer),
      `router: bad request: request target authority "evil.example" differs from Host "${HOST}"\n`,
    );
    t.match(answer, /\r\nconnection: close\r\n/i);
    t.equal(seen.length, before);
  });

  t.test("OPTIONS * is answered at the hop: the router's and the queue-proxy's", async (t) => {
    const before = seen.length;
    for (const port of [router.port, Number(new URL(qp.url).port)]) {
      const answer = await rawExchange(port, `OPTIONS * HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      t.equal(statusOf(answer), 400, answer);
      t.match(bodyOf(answer), /: bad request: OPTIONS \* asks about the server itself/);
    }
    t.equal(seen.length, before);
  });

  t.test("HTTP/2: :authority is the host; a Host naming another is refused", async (t) => {
    const session = connect(router.url);
    // The router is stopped by the parent's teardown, maybe before this session's close is done:
    // a reset then is no failure of the test.
    session.on("error", () => {});
    t.teardown(() => session.destroy());
    const ask = async (headers: Record<string, string>) => {
      const stream = session.request({ ":path": "/h2", ":authority": HOST, ...headers });
      const status = await new Promise<number>((resolve) =>
        stream.once("response", (h) => resolve(Number(h[":status"]))),
      );
      let text = "";
      for await (const chunk of stream) text += chunk;
      return { status, text };
    };
    const same = await ask({ host: `${HOST.toUpperCase()}:80` });
    t.equal(same.status, 200, same.text);
    t.same(JSON.parse(same.text), { url: "/h2", host: HOST }, "upstream Host is the :authority");
    const before = seen.length;
    const other = await ask({ host: "other.default.example.com" });
    t.equal(other.status, 400, other.text);
    t.equal(
      other.text,
      `router: bad request: Host "other.default.example.com" differs from :authority "${HOST}"\n`,
    );
    const star = await ask({ ":method": "OPTIONS", ":path": "*" });
    t.equal(star.status, 400, star.text);
    t.equal(seen.length, before, "neither forwarded");
  });
});
