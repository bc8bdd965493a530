// A userspace kube-proxy for the test node: for each Service port it holds the ClusterIP on the
// node's bridge and listens there, forwarding each connection to one ready endpoint, round robin.
// There is no netfilter here for kube-proxy's DNAT rules, and pods reach the bridge anyway (it is
// their default route), so a listener on the host per ClusterIP:port does the same job.
import { execFileSync } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface Backend {
  ip: string;
  port: number;
}

/** The whole desired state: the backends of each "clusterIP:port", swapped in at once. */
export type ProxyTable = Map<string, Backend[]>;

interface Listener {
  server: Server;
  backends: Backend[];
  next: number;
}

const CONNECT_TIMEOUT_MS = 2000;

function ip(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Pipes two sockets both ways; a failure on either side resets the other, as a dropped connection would. */
export function splice(inbound: Socket, outbound: Socket): void {
  inbound.pipe(outbound);
  outbound.pipe(inbound);
  inbound.on("error", () => outbound.destroy());
  outbound.on("error", () => (inbound.destroyed ? undefined : inbound.resetAndDestroy()));
}

export interface ServiceProxy {
  /** Makes the listeners match `table`: new ones opened, gone ones closed, backends replaced. */
  apply(table: ProxyTable): Promise<void>;
  /** The backends a "clusterIP:port" forwards to now (undefined when not served). */
  backends(key: string): Backend[] | undefined;
  stop(): void;
}

export function startServiceProxy({
  bridge,
  debug,
}: {
  bridge: string;
  debug: (message: string) => void;
}): ServiceProxy {
  const listeners = new Map<string, Listener>();
  const held = new Set<string>(); // ClusterIPs this proxy put on the bridge
  // Connections being forwarded, ended on stop: one to a pod whose network went away never sees
  // a FIN and would keep the test process alive.
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  let stopped = false;

  const hold = (address: string) => {
    if (held.has(address)) return;
    try {
      ip(["addr", "add", `${address}/32`, "dev", bridge]);
    } catch (error) {
      // Already there (another test node of the same control plane, or a leftover): listen anyway.
      if (!/File exists/.test(String((error as { stderr?: Buffer }).stderr ?? error))) throw error;
    }
    held.add(address);
  };

  const open = async (key: string, backends: Backend[]) => {
    const [address, port] = [key.slice(0, key.lastIndexOf(":")), Number(key.slice(key.lastIndexOf(":") + 1))];
    hold(address);
    // allowHalfOpen: a client's FIN is passed on rather than ending our side before the reply.
    const listener: Listener = { server: createServer({ allowHalfOpen: true }), backends, next: 0 };
    listener.server.on("connection", (inbound) => {
      track(inbound);
      const ready = listener.backends;
      if (ready.length === 0) {
        // No ready endpoint: refuse, as kube-proxy's REJECT rule does, rather than hang.
        inbound.resetAndDestroy();
        return;
      }
      const backend = ready[listener.next++ % ready.length];
      const outbound = connect({ host: backend.ip, port: backend.port, allowHalfOpen: true });
      // An endpoint whose pod just went (its address unanswered until the EndpointSlice catches
      // up) would hold the client for as long as SYNs are retried; a bridge answers in
      // microseconds, so give up early and reset the client instead.
      outbound.setTimeout(CONNECT_TIMEOUT_MS, () => {
        if (outbound.connecting)
          outbound.destroy(new Error(`connect ${backend.ip}:${backend.port} timed out`));
      });
      outbound.once("connect", () => outbound.setTimeout(0));
      track(outbound);
      splice(inbound, outbound);
    });
    await new Promise<void>((resolve, reject) => {
      listener.server.once("error", reject);
      listener.server.listen(port, address, () => resolve());
    });
    listener.server.on("error", (error) => debug(`service proxy ${key}: ${error.message}`));
    listeners.set(key, listener);
  };

  return {
    async apply(table) {
      if (stopped) return;
      for (const [key, listener] of listeners) {
        if (!table.has(key)) {
          listener.server.close();
          listeners.delete(key);
        }
      }
      for (const [key, backends] of table) {
        const listener = listeners.get(key);
        if (listener) listener.backends = backends;
        else {
          try {
            await open(key, backends);
          } catch (error) {
            debug(`service proxy cannot listen on ${key}: ${(error as Error).message}`);
          }
        }
      }
      // Addresses no Service port uses any more go, so a reused ClusterIP starts clean.
      const inUse = new Set([...listeners.keys()].map((key) => key.slice(0, key.lastIndexOf(":"))));
      for (const address of held) {
        if (inUse.has(address)) continue;
        held.delete(address);
        try {
          ip(["addr", "del", `${address}/32`, "dev", bridge]);
        } catch {}
      }
    },
    backends: (key) => listeners.get(key)?.backends,
    stop() {
      stopped = true;
      for (const listener of listeners.values()) listener.server.close();
      listeners.clear();
      for (const socket of sockets) socket.destroy();
    },
  };
}
