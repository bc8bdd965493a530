// Response headers node's HTTP/2 API refuses twice: the list sluice keeps is node's own (checked
// against this node by trying every HTTP2_HEADER_* name), and a repeated one keeps its first value.
import { once } from "node:events";
import { connect, constants, createServer, type ServerHttp2Stream } from "node:http2";
import t from "tap";
import { firstOfSingleValue, H2_SINGLE_VALUE } from "../../common/http/h2-single-value.ts";
import { listen } from "../../common/http/listen.ts";

t.test("the first value of a single-value header goes on; everything else as it was", async (t) => {
  const headers = ["Content-Type", "text/plain", "x-a", "1", "content-type", "text/html", "x-a", "2"];
  t.same(firstOfSingleValue(headers), ["Content-Type", "text/plain", "x-a", "1", "x-a", "2"]);
  const plain = ["x-a", "1", "etag", '"e"'];
  t.equal(firstOfSingleValue(plain), plain, "nothing dropped: the same list, no copy");
});

t.test("the list is what this node refuses", async (t) => {
  const names = [
    ...new Set(
      Object.entries(constants)
        .filter(([key]) => key.startsWith("HTTP2_HEADER_"))
        .map(([, name]) => String(name))
        .filter((name) => !name.startsWith(":")),
    ),
  ];
  const refused: string[] = [];
  const server = createServer();
  server.on("request", (req, res) => {
    const name = String(req.headers["x-name"]);
    try {
      res.writeHead(200, [name, "a", name, "b"]);
      res.end();
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_HTTP2_HEADER_SINGLE_VALUE") refused.push(name);
      (res.stream as ServerHttp2Stream).close();
    }
  });
  const port = await listen(server, 0);
  t.teardown(() => server.close());
  const session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.close());
  for (const name of names) {
    const stream = session.request({ ":path": "/", "x-name": name });
    stream.on("error", () => {});
    stream.resume();
    stream.end();
    await once(stream, "close");
  }
  t.ok(refused.length > 20, `node refuses ${refused.length} names twice`);
  t.same([...refused].sort(), [...H2_SINGLE_VALUE].sort());
});
