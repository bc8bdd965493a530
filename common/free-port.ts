import { createServer } from "node:net";

/**
 * A port the OS says is free on 127.0.0.1, for a process that must be told its port up front
 * (an app reads $PORT). Processes of our own listen on 0 and report their port instead.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
