import { lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { isAbsolute } from "node:path";
import { type ListenTarget, listenOnHandle } from "./listen-handle.ts";

/** Starts `server` listening, without node's cluster module when it can (listen-handle.ts). */
function startListening(server: Server, target: ListenTarget, onListening: () => void): void {
  server.once("listening", onListening);
  if (listenOnHandle(server, target)) return;
  if ("path" in target) server.listen(target.path);
  else server.listen(target.port, target.host);
}

/** Listens and resolves with the bound port (useful with port 0); rejects with a clear message. */
export function listen(server: Server, port: number, host = "127.0.0.1", what = "server"): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === "EADDRINUSE" ? "the port is already in use" : error.message;
      reject(new Error(`${what}: cannot listen on ${host}:${port}: ${reason}`, { cause: error }));
    };
    server.once("error", onError);
    startListening(server, { host, port }, () => {
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

/** A server that hands each connection it accepts to `server` (to serve it on a second address). */
export function forwardingServer(server: Server): Server {
  return createServer((socket) => server.emit("connection", socket));
}

/**
 * Listens on a Unix socket. A socket already at `path` that nobody answers on (left by a killed
 * process) is replaced; one a live process answers on, or any other file, is an error. Closing
 * the server removes the socket (libuv unlinks it).
 */
export async function listenOnSocket(server: Server, path: string, what = "server"): Promise<void> {
  const fail = (reason: string, cause?: unknown) =>
    new Error(`${what}: cannot listen on ${path}: ${reason}`, { cause });
  let existing: boolean;
  try {
    existing = lstatSync(path, { throwIfNoEntry: false })?.isSocket() ?? false;
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  if (existing) {
    if (await answers(path)) throw fail("another process is listening there");
    try {
      unlinkSync(path);
    } catch (error) {
      throw fail((error as Error).message, error);
    }
  }
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(fail(error.message, error));
    server.once("error", onError);
    startListening(server, { path }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Whether a process accepts connections on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
