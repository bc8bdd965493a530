// The technique's floor in the benchmark (bench/apps/llhttp-forwarder.ts), with each parser: what
// the benchmark sends must go through as it does through nginx, and what it does not forward must
// be refused, not misframed.
import { createServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect } from "node:net";
import t from "tap";
import { startProcess } from "../helpers/processes.ts";

const BIG = 1 << 20;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
}

for (const parser of ["node", "wasm"]) {
  t.test(`llhttp-forwarder (LLHTTP=${parser}): what the benchmark sends goes through`, async (t) => {
    const seen: Seen[] = [];
    const app = createServer((req, res) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      if (req.url === "/die") {
        req.socket.destroy();
        return;
      }
      if (req.url === "/big-then-close") {
        res.writeHead(200, { connection: "close", "content-length": BIG });
        res.end(Buffer.alloc(BIG, 97));
        return;
      }
      if (req.url === "/chunked") {
        res.writeHead(200, { "x-app": "chunked" });
        res.write("abc");
        res.end("def");
        return;
      }
      res.writeHead(201, { "x-app": "yes", "content-length": 5 });
      res.end(`hi ${req.url?.slice(-1)}\n`);
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    t.teardown(() => app.close());
    const forwarder = await startProcess(t, "bench/apps/llhttp-forwarder.ts", {
      PORT: "0",
      UPSTREAM_PORT: String((app.address() as AddressInfo).port),
      LLHTTP: parser,
    });
    const port = Number(forwarder.message.port);

    const one = await exchange(
      port,
      "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Keep: 2\r\n\r\n",
      1,
    );
    t.match(one, /^HTTP\/1\.1 201 Created\r\n/);
    t.match(one, /\r\nx-app: yes\r\n/);
    t.match(one, /\r\ncontent-length: 5\r\n\r\nhi 1\n$/);
    t.same(
      [seen[0].method, seen[0].url, seen[0].headers["x-keep"], seen[0].headers["keep-alive"]],
      ["GET", "/a?b=1", "2", undefined],
      "the request as sent, hop-by-hop headers dropped",
    );

    const chunked = await exchange(port, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    t.match(chunked, /\r\ncontent-length: 6\r\n\r\nabcdef$/, "a chunked answer sent on with its length");
    t.notMatch(chunked, /transfer-encoding/);

    const two = await exchange(
      port,
      "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n",
      2,
    );
    t.match(two, /hi 1\n.*hi 2\n$/s, "pipelined requests answered in order");

    // A head arriving in pieces, cut inside a name and inside a value (two reads, most likely).
    const pieces = await exchange(port, ["GET /s1 HTTP/1.1\r\nHost: x\r\nX-Sp", "lit: a", "b\r\n\r\n"], 1);
    t.match(pieces, /hi 1\n$/);
    t.equal(seen.at(-1)?.headers["x-split"], "ab", "a header cut across reads, whole upstream");

    const many = Array.from({ length: 40 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
    t.match(await exchange(port, `GET /m1 HTTP/1.1\r\nHost: x\r\n${many}\r\n`, 1), /hi 1\n$/);
    t.same(
      [seen.at(-1)?.headers["x-h0"], seen.at(-1)?.headers["x-h39"]],
      ["0", "39"],
      "more than 32 headers, all forwarded",
    );

    const refusedLast = await exchange(
      port,
      "GET /q1 HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
      0,
    );
    t.match(refusedLast, /hi 1\n.*HTTP\/1\.1 501 /s, "a refusal waits for the answer before it");

    const whole = await exchange(port, "GET /big-then-close HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    t.equal(
      whole.length - whole.indexOf("\r\n\r\n") - 4,
      BIG,
      "the app closing after a big answer: all of it",
    );
    t.match(whole, new RegExp(`content-length: ${BIG}\r\n`));

    t.match(
      await exchange(port, "GET /die HTTP/1.1\r\nHost: x\r\n\r\n", 0),
      /^HTTP\/1\.1 502 /,
      "the app's connection gone mid-request: 502",
    );
    const before = seen.length;

    for (const [what, bytes, status] of [
      ["a body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", 501],
      ["a chunked body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501],
      ["HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 501],
      ["garbage", "NOT HTTP\r\n\r\n", 400],
      [
        "Content-Length beside chunked",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
      ],
    ] as const) {
      const answer = await exchange(port, bytes, 0);
      t.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${status}, the connection closed`);
    }
    t.equal(seen.length, before, "nothing refused reached the app");

    await new Promise<void>((resolve) => app.close(() => resolve()));
    app.closeAllConnections();
    t.match(
      await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0),
      /^HTTP\/1\.1 502 /,
      "the app gone: 502",
    );
  });
}

/**
 * Sends `bytes` on a new connection; resolves with everything answered once `answers` whole
 * answers are in (each ends with its 5- or 6-byte body), or, for 0, once the forwarder closes.
 */
function exchange(port: number, bytes: string | string[], answers: number): Promise<string> {
  const parts = typeof bytes === "string" ? [bytes] : [...bytes];
  return new Promise((resolve, reject) => {
    // Pieces 20 ms apart, so that they most likely arrive as reads of their own.
    const send = () => {
      socket.write(parts.shift() as string);
      if (parts.length > 0) setTimeout(send, 20);
    };
    const socket = connect(port, "127.0.0.1", send);
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => {
      answer += chunk;
      if (answers > 0 && (answer.match(/\r\n\r\n(hi \d\n|abcdef)/g) ?? []).length === answers) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

t.test("llhttp-forwarder: bad settings, no start, and says which", async (t) => {
  await t.rejects(
    startProcess(t, "bench/apps/llhttp-forwarder.ts", { PORT: "0", UPSTREAM_PORT: "" }),
    /UPSTREAM_PORT must be the app's port on 127\.0\.0\.1, got ""/,
  );
  await t.rejects(
    startProcess(t, "bench/apps/llhttp-forwarder.ts", { PORT: "0", UPSTREAM_PORT: "8080", LLHTTP: "fast" }),
    /LLHTTP must be node or wasm, got "fast"/,
  );
});
