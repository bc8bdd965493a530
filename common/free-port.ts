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
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      return typeof address === "object" && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
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
