// An in-process app for upgrade tests: it answers an upgrade however its path says (accept and
// echo, refuse with 200, a huge head, never), and ordinary requests with what it saw.
import { createServer, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** An app that answers upgrades however the path says, and ordinary requests with what it saw. */
export async function startUpgradeApp(t: Teardown) {
  const upgrades: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    const answer = () =>
      res.end(
        JSON.stringify({
          url: req.url,
          upgrade: req.headers.upgrade ?? null,
          connection: req.headers.connection ?? null,
        }),
      );
    if (req.url?.startsWith("/slow")) setTimeout(answer, 2500);
    else answer();
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    upgrades.push(req);
    socket.on("error", () => {}); // clients here leave abruptly
    switch (req.url) {
      case "/echo":
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
        socket.pipe(socket);
        return;
      case "/refuse":
        socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nnot upgraded\n");
        return;
      case "/big-head":
        socket.end(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
        return;
      default: // /hang: never answers
        t.teardown(() => socket.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  return { port, url: `http://127.0.0.1:${port}`, upgrades };
}

/** Everything the server says until it closes the connection. */
export const untilClosed = (socket: Socket) =>
  new Promise<string>((resolve) => {
    let received = "";
    socket.on("data", (chunk) => (received += chunk));
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
  });

/** A WebSocket (or other `token`) upgrade request, with `extra` header lines. */
export const upgradeRequest = (host: string, path: string, token = "websocket", extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: ${token}\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
