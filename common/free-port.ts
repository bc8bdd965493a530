import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

/**
 * A port the OS says is free on 127.0.0.1, for a process that must be told its port up front
 * (an app reads $PORT). Processes of our own listen on 0 and report their port instead.
 */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/**
 * `count` distinct ports the OS says are free on 127.0.0.1, for processes that must be told their
 * ports up front. All are held open together, so the OS cannot hand out the same port twice (as
 * two freePort() calls in a row may: the first is free again when the second asks).
 *
 * They are taken at random below the kernel's ephemeral range where there is room (upFrontRange).
 * A port found free in the ephemeral range can be taken before its process binds it by any listen
 * on port 0 and by any outgoing connection as its local end, and a load test opens thousands of
 * those. Below it, only a process asking for that very port can: another freePorts caller drawing
 * the same one (this process skips the ports it handed out in the last minute), or a service of
 * the machine's own.
 */
export async function freePorts(
  count: number,
  range: readonly [number, number] | undefined = upFrontRange(ephemeralRange()),
): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await holdFreePort(range));
    const ports = servers.map((server) => {
      const address = server.address();
      return typeof address === "object" && address ? address.port : 0;
    });
    const now = Date.now();
    for (const port of ports) handedOut.set(port, now);
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Ports this process handed out, and when: its process may not have bound one yet. */
const handedOut = new Map<number, number>();
const HANDED_OUT_MS = 60_000;

function recentlyHandedOut(port: number, now: number): boolean {
  for (const [handed, at] of handedOut) if (now - at > HANDED_OUT_MS) handedOut.delete(handed);
  return handedOut.has(port);
}

/** The lowest port freePorts takes: above the well-known and most registered services' ports. */
const UP_FRONT_LOW = 10_000;
/**
 * The highest: below Kubernetes' NodePort range (30000–32767), where kube-proxy on the same machine
 * sends 127.0.0.1's traffic to a Service whatever is bound there.
 */
const UP_FRONT_HIGH = 29_999;
/** The fewest ports below the ephemeral range worth drawing from; with fewer, port 0 is used. */
const UP_FRONT_MIN_SPAN = 1_000;
/** Random ports tried in upFrontRange before falling back to port 0. */
const PICK_ATTEMPTS = 20;

/** The ports to draw from below the kernel's ephemeral range, if there are enough of them. */
export function upFrontRange(ephemeral: readonly [number, number] | undefined): [number, number] | undefined {
  if (ephemeral === undefined) return undefined;
  const high = Math.min(ephemeral[0] - 1, UP_FRONT_HIGH);
  return high - UP_FRONT_LOW + 1 >= UP_FRONT_MIN_SPAN ? [UP_FRONT_LOW, high] : undefined;
}

/** The kernel's ephemeral port range (Linux), or undefined where it cannot be read. */
export function ephemeralRange(): [number, number] | undefined {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isInteger(low) && Number.isInteger(high) && low <= high ? [low, high] : undefined;
  } catch {
    return undefined;
  }
}

/** A server listening on a free port: a random one in `range` when it can, else one the OS picks. */
async function holdFreePort(range: readonly [number, number] | undefined): Promise<Server> {
  if (range !== undefined) {
    for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt++) {
      const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
      if (recentlyHandedOut(port, Date.now())) continue;
      const server = await listenOn(port);
      if (server) return server;
    }
  }
  const server = await listenOn(0);
  if (!server) throw new Error("no free port on 127.0.0.1");
  return server;
}

/** Listens on 127.0.0.1:`port`; undefined when the port is taken or not ours to bind. */
function listenOn(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(undefined);
      else reject(error);
    });
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** How many times a tool is started on fresh ports when another process bound one of them first. */
const BIND_ATTEMPTS = 3;

/**
 * Starts a tool on `count` ports found free, and again on new ones when it exits because one was
 * taken meanwhile: a port found free is not held between the check and the tool's own bind, and
 * tests start many processes at once.
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePorts(count));
    } catch (error) {
      if (attempt >= BIND_ATTEMPTS || !/address already in use/i.test(String(error))) throw error;
    }
  }
}
