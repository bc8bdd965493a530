// streamGet: the state watch's long-lived GET on node:http.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { readText, streamGet } from "../../common/http/stream-get.ts";

async function server(t: { teardown(fn: () => unknown): void }) {
  let release: () => void = () => {};
  const srv = createServer((req, res) => {
    if (req.url === "/missing") return void res.writeHead(404).end("no such thing\n");
    res.writeHead(200, { "content-type": "text/event-stream", "x-auth": req.headers.authorization ?? "" });
    res.write("first\n");
    release = () => res.end("last\n");
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, release: () => release() };
}

t.test("resolves at the head, streams the body, sends the headers", async (t) => {
  const { url, release } = await server(t);
  const res = await streamGet(`${url}/watch`, { headers: { authorization: "Bearer x" } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["x-auth"], "Bearer x");
  res.setEncoding("utf8");
  const chunks: string[] = [];
  for await (const chunk of res) {
    chunks.push(chunk);
    if (chunks.length === 1) release(); // the body goes on after the head
  }
  t.equal(chunks.join(""), "first\nlast\n");
});

t.test("readText reads an error answer", async (t) => {
  const { url } = await server(t);
  const res = await streamGet(`${url}/missing`);
  t.equal(res.statusCode, 404);
  t.equal(await readText(res), "no such thing\n");
});

t.test("an abort ends the stream", async (t) => {
  const { url } = await server(t);
  const abort = new AbortController();
  const res = await streamGet(`${url}/watch`, { signal: abort.signal });
  let chunks = 0;
  // node ends the iteration or fails it, depending on where the abort lands: either way it stops.
  await (async () => {
    for await (const _chunk of res) {
      chunks++;
      abort.abort();
    }
  })().catch(() => {});
  t.equal(chunks, 1, "nothing after the abort");
  t.ok(res.destroyed, "the response is destroyed");
});

t.test("a refused connection and a URL that is not http(s) reject", async (t) => {
  await t.rejects(streamGet("http://127.0.0.1:1/"), { code: "ECONNREFUSED" });
  await t.rejects(streamGet("ftp://127.0.0.1/"), /ftp:\/\/127\.0\.0\.1\/: expected an http: or https: URL/);
});
