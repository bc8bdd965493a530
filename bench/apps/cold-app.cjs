// The cold-burst benchmark's app (bench/cold-burst.ts): it takes BOOT_MS (default 300) before it
// listens on $PORT, like an app loading its code and connecting to its database, and answers
// every request after HANDLER_MS (default 20), like an app waiting on a backend. Both are waits,
// not CPU: the machine's cores stay with sluice, so the figures measure sluice. Plain CommonJS,
// as an app ships in its image: run as TypeScript, node's type stripping made each start cost
// 130-140 ms of CPU instead of 30-40 (eight pods of a burst: ~0.8 s of a 2-core machine's CPU).
"use strict";
const { createServer } = require("node:http");

const bootMs = Number(process.env.BOOT_MS ?? 300);
const handlerMs = Number(process.env.HANDLER_MS ?? 20);
const BODY = Buffer.from("cold\n");
const HEADERS = { "content-type": "text/plain", "content-length": String(BODY.length) };

const server = createServer((_req, res) => {
  setTimeout(() => {
    res.writeHead(200, HEADERS);
    res.end(BODY);
  }, handlerMs);
});
server.keepAliveTimeout = 65_000;
setTimeout(() => server.listen(Number(process.env.PORT ?? 0), "127.0.0.1"), bootMs);
process.on("SIGTERM", () => process.exit(0));
