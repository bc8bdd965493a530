import { connect, type Socket } from "node:net";

/** Opens a TCP connection to 127.0.0.1:port. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends bytes as they are and collects everything the server says until it closes. */
export async function rawExchange(
  port: number,
  payload: string | Buffer,
  { endAfterWrite = false } = {},
): Promise<string> {
  const socket = await openSocket(port);
  return new Promise((resolve) => {
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk;
      // One complete response with a length is enough; don't wait for keep-alive to time out.
      const match = /content-length: (\d+)\r\n/i.exec(received);
      const headEnd = received.indexOf("\r\n\r\n");
      if (match && headEnd !== -1 && received.length - headEnd - 4 >= Number(match[1])) socket.destroy();
    });
    socket.on("close", () => resolve(received));
    socket.on("error", () => socket.destroy());
    socket.write(payload);
    if (endAfterWrite) socket.end();
  });
}
