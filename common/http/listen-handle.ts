// Listening without node's cluster module. net.Server.listen() loads `cluster` on every call, to
// ask whether the process is a cluster worker, and cluster loads child_process, dgram and dns with
// it: ~1.5 MB of RSS in a process that uses none of them (a bare TCP server: 45.3 MB listening
// through listen(), 43.8 MB through this; docs/prebuilt.md). So the socket is bound by net's own
// bind step (`_createServerHandle`, which cluster's primary calls) and handed to the server's own
// listen step (`_listen2`, ditto): the server then listens, accepts, reports its address and closes
// as after listen(). Being node's internals, they are checked first; listen() does the work, as
// before, when they are missing, for a host name (to resolve), a port listen() would refuse (its
// error), a cluster worker (whose primary holds the socket), or a diagnostics subscriber to
// net.server.listen (which listen() reports to).
import { isIP, type Server } from "node:net";

type ServerHandle = object;

interface NetInternals {
  /** A handle bound to address:port (family 4 or 6), or to the path (port and family -1); else an errno. */
  _createServerHandle(
    address: string,
    port: number,
    family: number,
    fd: undefined,
    flags: number,
  ): ServerHandle | number;
}

type ListeningServer = Server & {
  _handle: ServerHandle | null;
  _pipeName?: string;
  /** setupListenHandle: listens on `_handle`, then emits listening (or error) on the next tick. */
  _listen2(address: string, port: number, family: number, backlog: number): void;
};

/** What net.Server.listen() passes by default (node's own backlog). */
const BACKLOG = 511;

/** Where to listen: an IP address and port, or a Unix socket's path. */
export type ListenTarget = { host: string; port: number } | { path: string };

/** Why listen() must do it: the reason, or undefined when the handle can be bound here. */
export function listenDirectlyProblem(server: Server, target: ListenTarget): string | undefined {
  const net = process.getBuiltinModule("node:net") as unknown as Partial<NetInternals>;
  if (typeof net._createServerHandle !== "function") return "net has no _createServerHandle";
  if (typeof (server as Partial<ListeningServer>)._listen2 !== "function")
    return "the server has no _listen2";
  if ((server as ListeningServer)._handle) return "already listening";
  if (process.env.NODE_UNIQUE_ID !== undefined) return "a cluster worker";
  if (process.getBuiltinModule("node:diagnostics_channel").tracingChannel("net.server.listen").hasSubscribers)
    return "net.server.listen has subscribers";
  if ("path" in target) return undefined;
  if (isIP(target.host) === 0) return "a host name";
  const { port } = target;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return "not a port";
  return undefined;
}

/**
 * Starts `server` listening on `target` as server.listen() would: 'listening' or 'error' follows,
 * with node's error for a bind that fails. Returns false, doing nothing, when listen() must do it
 * (listenDirectlyProblem).
 */
export function listenOnHandle(server: Server, target: ListenTarget): boolean {
  if (listenDirectlyProblem(server, target) !== undefined) return false;
  const net = process.getBuiltinModule("node:net") as unknown as NetInternals;
  const listening = server as ListeningServer;
  const address = "path" in target ? target.path : target.host;
  const port = "path" in target ? -1 : target.port;
  const family = "path" in target ? -1 : isIP(target.host);
  const handle = net._createServerHandle(address, port, family, undefined, 0); // flags 0: not IPv6-only
  if (typeof handle === "number") {
    process.nextTick(() => server.emit("error", listenError(handle, address, port)));
    return true;
  }
  listening._handle = handle;
  if ("path" in target) listening._pipeName = target.path; // what address() reports for a Unix socket
  listening._listen2(address, port, family, BACKLOG);
  return true;
}

/** node's error for a listen that failed ("listen EACCES: permission denied 0.0.0.0:80"). */
function listenError(errno: number, address: string, port: number): NodeJS.ErrnoException {
  // node:util only now: imported at start, the bundle's copy of its exports loaded a dozen of its
  // lazy parts (parse_args, diff, worker_threads…): 0.9 MB of a queue-proxy's RSS.
  const util = process.getBuiltinModule("node:util");
  const code = util.getSystemErrorName(errno);
  // node's wording: the port only when one was asked for.
  const where = port > 0 ? `${address}:${port}` : address;
  return Object.assign(new Error(`listen ${code}: ${util.getSystemErrorMessage(errno)} ${where}`), {
    code,
    errno,
    syscall: "listen",
    address,
    ...(port > 0 ? { port } : {}),
  });
}
