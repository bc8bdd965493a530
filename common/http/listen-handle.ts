// Listening without node's cluster module. net.Server.listen() loads `cluster` on every call, to
// ask whether the process is a cluster worker, and cluster loads child_process, dgram and dns with
// it: ~1.9 MB of RSS in a process that uses none of them (a bare TCP server: 45.3 MB listening
// through listen(), 43.8 MB through this; docs/prebuilt.md). No sluice process is a cluster
// worker, so the socket is bound here, on node's own tcp_wrap and pipe_wrap handles (what
// net.Server makes), and handed to the server's own listen step (`_listen2`, which cluster's
// primary calls the same way): the server then listens, accepts, reports its address and closes as
// after listen(). Being node's internals, they are checked first; anything missing, or an address
// that is not an IP literal (a name to resolve), and listen() does the work as before.
import { isIP, type Server } from "node:net";

interface ServerHandle {
  bind(address: string, port?: number): number;
  bind6(address: string, port: number, flags: number): number;
  close(): void;
}

interface HandleBindings {
  TCP: new (type: number) => ServerHandle;
  tcpServer: number;
  Pipe: new (type: number) => ServerHandle;
  pipeServer: number;
}

type ListeningServer = Server & {
  _handle: ServerHandle | null;
  _pipeName?: string;
  /** setupListenHandle: listens on `_handle`, then emits listening (or error) on the next tick. */
  _listen2(address: string, port: number, addressType: number, backlog: number): void;
};

/** What net.Server.listen() passes by default (node's own backlog). */
const BACKLOG = 511;

type Binding = { [name: string]: unknown; constants?: Record<string, number> };

let bindings: HandleBindings | null | undefined;

/** node's handle constructors, or null when something is not where node keeps it. */
export function loadHandleBindings(
  load: (name: string) => Binding = (name) =>
    (process as unknown as { binding(name: string): Binding }).binding(name),
): HandleBindings | null {
  try {
    const tcp = load("tcp_wrap");
    const pipe = load("pipe_wrap");
    const tcpServer = tcp.constants?.SERVER;
    const pipeServer = pipe.constants?.SERVER;
    if (typeof tcp.TCP !== "function" || typeof pipe.Pipe !== "function") return null;
    if (typeof tcpServer !== "number" || typeof pipeServer !== "number") return null;
    return {
      TCP: tcp.TCP as HandleBindings["TCP"],
      tcpServer,
      Pipe: pipe.Pipe as HandleBindings["Pipe"],
      pipeServer,
    };
  } catch {
    return null;
  }
}

/** Where to listen: an IP address and port, or a Unix socket's path. */
export type ListenTarget = { host: string; port: number } | { path: string };

/**
 * Starts `server` listening on `target` as server.listen() would: 'listening' or 'error' follows,
 * with node's error (code and message) for a bind that fails. Returns false, doing nothing, when
 * the handles cannot be used for it: call server.listen() then.
 */
export function listenOnHandle(server: Server, target: ListenTarget): boolean {
  bindings ??= loadHandleBindings();
  const listening = server as ListeningServer;
  if (bindings === null || typeof listening._listen2 !== "function" || listening._handle) return false;
  const family = "path" in target ? -1 : isIP(target.host);
  if (family === 0) return false;
  let handle: ServerHandle;
  let error: number;
  if ("path" in target) {
    handle = new bindings.Pipe(bindings.pipeServer);
    error = handle.bind(target.path);
  } else {
    handle = new bindings.TCP(bindings.tcpServer);
    error = family === 6 ? handle.bind6(target.host, target.port, 0) : handle.bind(target.host, target.port);
  }
  if (error !== 0) {
    handle.close();
    // node's wording: the port only when one was asked for.
    const where =
      "path" in target ? target.path : target.port > 0 ? `${target.host}:${target.port}` : target.host;
    process.nextTick(() => server.emit("error", listenError(error, where)));
    return true;
  }
  listening._handle = handle;
  if ("path" in target) {
    listening._pipeName = target.path; // what address() reports for a Unix socket
    listening._listen2(target.path, -1, -1, BACKLOG);
  } else listening._listen2(target.host, target.port, family, BACKLOG);
  return true;
}

/** node's error for a listen that failed ("listen EACCES: permission denied 0.0.0.0:80"). */
function listenError(errno: number, where: string): NodeJS.ErrnoException {
  // node:util only now: loaded at start it brings a dozen modules more (~0.6 MB).
  const util = process.getBuiltinModule("node:util");
  const code = util.getSystemErrorName(errno);
  const error: NodeJS.ErrnoException = new Error(
    `listen ${code}: ${util.getSystemErrorMessage(errno)} ${where}`,
  );
  error.code = code;
  error.errno = errno;
  error.syscall = "listen";
  return error;
}
