// The cold burst's client (bench/lib/one-shot-get.ts): one GET per connection, read to the close,
// against real servers; a response cut short is an error naming what is wrong, never a status.
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import t from "tap";
import { oneShotGet, parseResponse } from "../../bench/lib/one-shot-get.ts";

async function listening(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

t.test("a GET through node:http: the status and body, the host sent, the connection closed", async (t) => {
  const seen: { host?: string; connection?: string }[] = [];
  const server = createHttpServer((req, res) => {
    seen.push({ host: req.headers.host, connection: req.headers.connection });
    const body = req.url === "/missing" ? "no such thing\n" : "cold\n";
    if (req.url === "/chunked") {
      res.write("in chunks"); // written before the end: node:http frames it chunked
      res.end();
      return;
    }
    res.writeHead(req.url === "/missing" ? 404 : 200, { "content-length": String(body.length) });
    res.end(body);
  });
  t.teardown(() => server.close());
  const port = await listening(server);
  t.same(await oneShotGet(port, "cold.default.example.com"), { status: 200, body: "cold\n" });
  t.same(await oneShotGet(port, "x.example.com", "/missing"), { status: 404, body: "no such thing\n" });
  t.same(
    await oneShotGet(port, "x.example.com", "/chunked"),
    {
      status: 200,
      body: "9\r\nin chunks\r\n0\r\n\r\n",
    },
    "a chunked body as sent",
  );
  t.same(seen.slice(0, 2), [
    { host: "cold.default.example.com", connection: "close" },
    { host: "x.example.com", connection: "close" },
  ]);
});

t.test("a server that closes early or sends no HTTP is an error, not an answer", async (t) => {
  const replies = [
    "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
    "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n",
    "SSH-2.0-OpenSSH\r\n\r\n",
  ];
  const server = createServer((socket) => {
    socket.once("data", () => socket.end(replies.shift() ?? ""));
  });
  t.teardown(() => server.close());
  const port = await listening(server);
  await t.rejects(oneShotGet(port, "h"), /the body is 5 bytes; content-length said 10/);
  await t.rejects(oneShotGet(port, "h"), /closed before the response head ended/);
  await t.rejects(oneShotGet(port, "h"), /not an HTTP\/1.x status line: "SSH-2.0-OpenSSH"/);
});

t.test("no whole response in time is an error", async (t) => {
  const server = createServer((socket) => {
    socket.once("data", () => socket.write("HTTP/1.1 200 OK\r\n")); // a head that never ends
  });
  t.teardown(() => server.close());
  const port = await listening(server);
  await t.rejects(oneShotGet(port, "h", "/", 200), /no whole response in 200 ms/);
});

t.test("a response is whole at its content-length, or at the close without one", async (t) => {
  t.equal(parseResponse("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nco", false), undefined, "not yet");
  t.same(parseResponse("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ncold", false), {
    status: 200,
    body: "cold",
  });
  t.equal(
    parseResponse("HTTP/1.0 503 Service Unavailable\r\n\r\nbu", false),
    undefined,
    "no length: the close ends it",
  );
  t.same(parseResponse("HTTP/1.0 503 Service Unavailable\r\n\r\nbusy", true), { status: 503, body: "busy" });
  t.throws(() => parseResponse("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\ncold", false), /over 2 bytes/);
});

t.test(
  "a server that keeps the connection open after a whole response does not hold the answer",
  async (t) => {
    const server = createServer((socket) => {
      socket.once("data", () => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ncold"));
    });
    t.teardown(() => server.close());
    const port = await listening(server);
    t.same(await oneShotGet(port, "h", "/", 5000), { status: 200, body: "cold" });
  },
);
