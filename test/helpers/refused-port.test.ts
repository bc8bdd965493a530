// The refusing port the tests of unreachable peers use: refused while held, and no one can take it.
import { connect, createServer } from "node:net";
import t from "tap";
import { refusedPort } from "./refused-port.ts";

const outcome = (port: number, host: string) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });

const listening = (port: number, host?: string) =>
  new Promise<string>((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve("listened")));
  });

t.test("a refused port refuses, and cannot be listened on while the test holds it", async (t) => {
  const port = await refusedPort(t);
  t.equal(await outcome(port, "127.0.0.1"), "ECONNREFUSED");
  t.equal(await listening(port, "127.0.0.1"), "EADDRINUSE", "not on 127.0.0.1");
  t.equal(await listening(port), "EADDRINUSE", "nor on every address");
});
