import { connect, createServer, type Socket } from "node:net";
import type { Test } from "tap";

/**
 * A port on 127.0.0.1 that refuses connections for the whole test and that no other process can
 * take meanwhile. A port found free and closed (freePort) may be handed to any listener of the
 * parallel test run a moment later, and a test expecting a refusal then talks to a stranger.
 *
 * The port is the local end of a connection this helper holds open: it stays bound without
 * SO_REUSEADDR (so no one can listen on it, nor get it from bind(0)) and has no listener (so a
 * connection to it is refused). One chance remains, about 1 in 14,000 per connect: the kernel may
 * give the connecting socket this very port as its own, and a socket connected to itself succeeds.
 * That is far rarer than a stranger taking a closed port.
 */
export async function refusedPort(t: Test): Promise<number> {
  const anchor = createServer((socket) => socket.on("error", () => {}));
  let holder: Socket | undefined;
  t.teardown(async () => {
    holder?.destroy();
    if (anchor.listening) await new Promise((resolve) => anchor.close(resolve));
  });
  await new Promise<void>((resolve, reject) => {
    anchor.once("error", reject);
    anchor.listen(0, "127.0.0.1", () => resolve());
  });
  const address = anchor.address();
  if (address === null || typeof address === "string") throw new Error("refusedPort: no TCP address");
  const socket = connect(address.port, "127.0.0.1");
  holder = socket;
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("close", () => reject(new Error("refusedPort: the holding connection closed")));
    socket.once("connect", () => resolve());
  });
  if (socket.localPort === undefined)
    throw new Error("refusedPort: the holding connection has no local port");
  return socket.localPort;
}
