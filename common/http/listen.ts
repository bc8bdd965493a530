import { lstatSync, unlinkSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { isAbsolute } from "node:path";

/** Listens and resolves with the bound port (useful with port 0); rejects with a clear message. */
export function listen(server: Server, port: number, host = "127.0.0.1", what = "server"): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === "EADDRINUSE" ? "the port is already in use" : error.message;
      reject(new Error(`${what}: cannot listen on ${host}:${port}: ${reason}`, { cause: error }));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

/** Linux keeps a socket's path in 108 bytes, the final NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

/** What is wrong with `path` as a Unix socket to listen on, if anything. */
export function unixSocketPathProblem(path: string): string | undefined {
  if (!isAbsolute(path)) return "must be an absolute path";
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES)
    return `is ${bytes} bytes long; a Unix socket's path holds at most ${MAX_SOCKET_PATH_BYTES}`;
  return undefined;
}

/**
 * Serves `server`'s connections on a Unix socket as well (capped at its maxConnections, counted
 * apart), replacing a socket a killed process left there; any other file there is an error.
 * Closing the returned server removes the socket (libuv unlinks it).
 */
export function listenOnSocket(server: Server, path: string, what = "server"): Promise<Server> {
  const socketServer = createServer((socket) => server.emit("connection", socket));
  socketServer.maxConnections = server.maxConnections;
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(new Error(`${what}: cannot listen on ${path}: ${error.message}`, { cause: error }));
    try {
      if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) unlinkSync(path);
    } catch (error) {
      onError(error as NodeJS.ErrnoException);
      return;
    }
    socketServer.once("error", onError);
    socketServer.listen(path, () => {
      socketServer.off("error", onError);
      resolve(socketServer);
    });
  });
}
