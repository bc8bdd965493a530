import { connect, createServer, type Socket } from "node:net";
import type { Test } from "tap";

/**
 * A port on 127.0.0.1 that refuses every connection for the whole test and that no other process
 * can take meanwhile. A port found free and closed (freePort) may be handed to any listener of the
 * parallel test run a moment later, and a test expecting a refusal then talks to a stranger.
 *
 * The port is the local end of a connection this helper holds open: it stays bound (so no one can
 * listen on it, nor get it from the OS) and has no listener (so a connection to it is refused).
 */
export async function refusedPort(t: Test): Promise<number> {
  const anchor = createServer((socket) => socket.on("error", () => {}));
  await new Promise<void>((resolve, reject) => {
    anchor.once("error", reject);
    anchor.listen(0, "127.0.0.1", () => resolve());
  });
  const address = anchor.address();
  if (address === null || typeof address === "string") throw new Error("refusedPort: no TCP address");
  const holder: Socket = connect(address.port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    holder.once("error", reject);
    holder.once("connect", () => resolve());
  });
  holder.on("error", () => {});
  t.teardown(async () => {
    holder.destroy();
    await new Promise((resolve) => anchor.close(resolve));
  });
  const port = holder.localPort;
  if (port === undefined) throw new Error("refusedPort: the holding connection has no local port");
  return port;
}
