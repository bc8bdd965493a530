// The benchmark's upstream app: the smallest useful HTTP response. PORT=0 picks a free port,
// reported over IPC.
import { createServer } from "node:http";

const BODY = Buffer.from("hello world\n");
const HEADERS = { "content-type": "text/plain", "content-length": String(BODY.length) };

const server = createServer((_req, res) => {
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
