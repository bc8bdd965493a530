import type { Socket } from "node:net";
import { Duplex } from "node:stream";

/**
 * A Duplex over `socket` that first replays `alreadyRead` (bytes taken off the socket before it was
 * handed on). A server fed this Duplex reads through JavaScript, so a listener that taps the
 * socket's 'data' sees every byte the server gets (the recording test app). Not for serving:
 * node wraps a Duplex in a JSStreamSocket, which has no remoteAddress or remotePort, and every
 * read and write takes a JavaScript hop.
 */
export function replayingDuplex(socket: Socket, alreadyRead?: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  if (alreadyRead) duplex.push(alreadyRead);
  socket.on("data", (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("close", () => duplex.destroy());
  socket.on("error", (error) => duplex.destroy(error));
  return duplex;
}
