import t from "tap";
import { frameChunk, joinHead, lastChunk } from "../../common/http/raw/chunked.ts";
import { upstreamRequestHead } from "../../common/http/raw/request-head.ts";
import {
  bodiless,
  clientResponseHead,
  flattenHeaders,
  httpDate,
} from "../../common/http/raw/response-head.ts";
import { upgradeHead } from "../../common/http/raw/upgrade-handover.ts";

t.test("upstream request heads are laid out as undici lays them out", async (t) => {
  const headers = ["Host", "a.example", "X-One", "1", "Content-Length", "5"];
  t.same(upstreamRequestHead("POST", "/p", headers, true, "fallback:80"), {
    head: "POST /p HTTP/1.1\r\nhost: a.example\r\nconnection: keep-alive\r\nX-One: 1\r\ncontent-length: 5\r\n\r\n",
    chunked: false,
  });
  t.same(upstreamRequestHead("GET", "/", ["X", "y"], false, "h:1"), {
    head: "GET / HTTP/1.1\r\nhost: h:1\r\nconnection: keep-alive\r\nX: y\r\n\r\n",
    chunked: false,
  });
  t.equal(
    upstreamRequestHead("POST", "/", [], false, "h:1").head,
    "POST / HTTP/1.1\r\nhost: h:1\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n",
    "an empty POST says content-length: 0",
  );
  t.same(upstreamRequestHead("PUT", "/", [], true, "h:1"), {
    head: "PUT / HTTP/1.1\r\nhost: h:1\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n",
    chunked: true,
  });
  t.equal(
    upstreamRequestHead("PUT", "/", [], true, "h:1", 11).head,
    "PUT / HTTP/1.1\r\nhost: h:1\r\nconnection: keep-alive\r\ncontent-length: 11\r\n\r\n",
    "a body that has all arrived goes with its length",
  );
  t.match(
    upstreamRequestHead("HEAD", "/", [], false, "h:1").head,
    /\r\nconnection: close\r\n/,
    "HEAD closes",
  );
});

t.test("client response heads are framed and worded as node:http's", async (t) => {
  const keep = { method: "GET", versionMinor: 1, keepAlive: true };
  const date = "Tue, 01 Dec 2026 00:00:00 GMT";
  t.same(clientResponseHead(keep, 200, undefined, ["content-length", "2"], date, 5), {
    head: `HTTP/1.1 200 OK\r\ncontent-length: 2\r\nDate: ${date}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n`,
    framing: "length",
    keepAlive: true,
  });
  const chunked = clientResponseHead(keep, 201, "Made", ["date", "x"], date, 5);
  t.equal(
    chunked.head,
    "HTTP/1.1 201 Made\r\ndate: x\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  t.equal(chunked.framing, "chunked");
  const old = clientResponseHead(
    { method: "GET", versionMinor: 0, keepAlive: true },
    200,
    undefined,
    [],
    date,
    5,
  );
  t.equal(old.framing, "close", "HTTP/1.0 without a length: to the close");
  t.equal(old.keepAlive, false);
  t.match(old.head, /\r\nConnection: close\r\n\r\n$/);
  t.equal(clientResponseHead({ ...keep, method: "HEAD" }, 200, undefined, [], date, 5).framing, "none");
  t.equal(clientResponseHead(keep, 304, undefined, [], date, 5).framing, "none");
  const draining = clientResponseHead(
    keep,
    200,
    undefined,
    ["connection", "close", "content-length", "0"],
    date,
    5,
  );
  t.equal(draining.keepAlive, false, "a Connection: close of our own closes");
  t.notMatch(draining.head, /keep-alive/i);
  t.ok(bodiless("GET", 204) && bodiless("HEAD", 200) && bodiless("GET", 103) && !bodiless("GET", 200));
  t.same(flattenHeaders({ a: "1", b: 2, c: ["x", "y"] }), ["a", "1", "b", "2", "c", "x", "c", "y"]);
  t.match(httpDate(), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  t.equal(httpDate(), httpDate(), "made once per second");
});

t.test("chunks, trailers, joined writes and re-serialised upgrade heads", async (t) => {
  t.equal(frameChunk(Buffer.from("hello")).toString(), "5\r\nhello\r\n");
  t.equal(
    frameChunk(Buffer.alloc(26, "z"), "HEAD\r\n\r\n").toString(),
    `HEAD\r\n\r\n1a\r\n${"z".repeat(26)}\r\n`,
  );
  t.equal(lastChunk(), "0\r\n\r\n");
  t.equal(lastChunk({ "grpc-status": "0", x: ["a", "b"] }), "0\r\ngrpc-status: 0\r\nx: a\r\nx: b\r\n\r\n");
  t.equal(joinHead("H\r\n\r\n", Buffer.from("body")), "H\r\n\r\nbody", "small: one latin1 string");
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const small = joinHead("H\r\n\r\n", bytes);
  t.same(
    Buffer.from(small as string, "latin1"),
    Buffer.concat([Buffer.from("H\r\n\r\n"), bytes]),
    "every byte kept",
  );
  const large = joinHead("H\r\n\r\n", Buffer.alloc(20_000, 0xe9));
  t.ok(Buffer.isBuffer(large), "large: one buffer");
  t.equal((large as Buffer).length, 20_005);
  t.equal((large as Buffer)[19_999], 0xe9);
  t.equal(
    upgradeHead({ method: "GET", url: "/ws", httpVersion: "1.1", rawHeaders: ["Upgrade", "websocket"] }),
    "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
  );
});
