import type { Server as HttpServer } from "node:http";
import type { Socket } from "node:net";

/**
 * Gives a connection the raw path does not serve (an upgrade, a socket it cannot read) to a
 * node:http server, made when first asked for: the bytes read so far go back into the socket.
 */
export function handOverTo(server: () => HttpServer): (socket: Socket, bytes: Buffer) => void {
  return (socket, bytes) => {
    socket.pause();
    if (bytes.length > 0) socket.unshift(bytes);
    server().emit("connection", socket);
    socket.resume();
  };
}
