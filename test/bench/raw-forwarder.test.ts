// The raw path's floor in the benchmark (bench/apps/raw-forwarder.ts) must forward what the router
// forwards, or its figure is not a floor: bodies both ways, chunked uploads, hop-by-hop headers
// dropped, 502 when the app is gone.
import { createServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { Readable } from "node:stream";
import t from "tap";
import { request } from "undici";
import { startProcess } from "../helpers/processes.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

t.test("raw-forwarder: requests and bodies through, hop-by-hop headers dropped", async (t) => {
  const seen: Seen[] = [];
  const app = createServer((req, res) => {
    let body = "";
    req.setEncoding("latin1");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.alloc(1 << 20, 7));
        return;
      }
      const text = `got ${body.length}`;
      res.writeHead(201, { "x-app": "yes", "content-length": text.length });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  t.teardown(() => app.close());
  const upstreamPort = (app.address() as AddressInfo).port;
  const forwarder = await startProcess(t, "bench/apps/raw-forwarder.ts", {
    PORT: "0",
    UPSTREAM_PORT: String(upstreamPort),
  });
  const url = `http://127.0.0.1:${forwarder.message.port}`;

  // Raw bytes: undici would not send a Connection header naming another header.
  const head = await rawExchange(
    Number(forwarder.message.port),
    "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: x-drop\r\nX-Drop: 1\r\nX-Keep: 2\r\n\r\n",
  );
  t.match(head, /^HTTP\/1\.1 201 Created\r\n/);
  t.match(head, /\r\nx-app: yes\r\n/);
  t.match(head, /\r\n\r\ngot 0$/);
  t.same(
    [seen[0].method, seen[0].url, seen[0].headers["x-keep"], seen[0].headers["x-drop"]],
    ["GET", "/a?b=1", "2", undefined],
  );

  const post = await request(`${url}/post`, { method: "POST", body: "x".repeat(100_000) });
  t.equal(await post.body.text(), "got 100000");
  t.equal(seen[1].headers["content-length"], "100000");

  const chunked = await request(`${url}/chunked`, {
    method: "POST",
    body: Readable.from(["ab", "cd", "ef"]),
  });
  t.equal(await chunked.body.text(), "got 6");
  t.equal(seen[2].body, "abcdef");
  // Re-framed as the router does: chunked, or with its length when all of it was in at once.
  t.ok(
    seen[2].headers["transfer-encoding"] === "chunked" || seen[2].headers["content-length"] === "6",
    "the upload framed either way",
  );

  const big = await request(`${url}/big`);
  t.equal((await big.body.arrayBuffer()).byteLength, 1 << 20, "a 1 MB answer streamed whole");

  await new Promise<void>((resolve) => app.close(() => resolve()));
  app.closeAllConnections();
  const gone = await request(`${url}/`);
  t.equal(gone.statusCode, 502, "the app gone: 502");
  t.match(await gone.body.text(), /raw-forwarder:/);
});

/** Sends `bytes` on a new connection; resolves with the answer once a whole response is in. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => {
      answer += chunk;
      if (/\r\n\r\ngot \d+$/.test(answer)) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on("error", reject);
  });
}

t.test("raw-forwarder: no app port, no start, and says why", async (t) => {
  await t.rejects(
    startProcess(t, "bench/apps/raw-forwarder.ts", { PORT: "0", UPSTREAM_PORT: "" }),
    /UPSTREAM_PORT must be the app's port on 127\.0\.0\.1, got ""/,
  );
});
