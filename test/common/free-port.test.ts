// Ports chosen up front (common/free-port.ts): distinct, free, and below the kernel's ephemeral
// range, so neither a listen on port 0 nor an outgoing connection takes one before it is bound.
import { createServer, type Server } from "node:net";
import t, { type Test } from "tap";
import { ephemeralRange, freePorts, upFrontRange } from "../../common/free-port.ts";

t.test("upFrontRange: below the ephemeral range and Kubernetes' NodePorts, when there is room", async (t) => {
  t.same(upFrontRange([32768, 60999]), [10000, 29999], "Linux's default range: below 30000, the NodePorts");
  t.same(upFrontRange([49152, 65535]), [10000, 29999], "IANA's range");
  t.same(upFrontRange([20000, 60999]), [10000, 19999], "a range starting lower");
  t.equal(upFrontRange([10500, 60999]), undefined, "500 ports below it are too few");
  t.equal(upFrontRange([1024, 65535]), undefined, "nothing below it");
  t.equal(upFrontRange(undefined), undefined, "no range known");
});

t.test(
  "ephemeralRange: the kernel's, where /proc has it",
  { skip: process.platform !== "linux" && "needs /proc" },
  async (t) => {
    const range = ephemeralRange();
    t.ok(
      range !== undefined && range[0] >= 1 && range[0] <= range[1] && range[1] <= 65535,
      `read ${range?.join("–")}`,
    );
  },
);

t.test("freePorts: distinct ports, free to bind, in the up-front range here", async (t) => {
  const ports = await freePorts(5);
  t.equal(new Set(ports).size, 5, `five distinct ports: ${ports.join(", ")}`);
  const bound = await Promise.all(ports.map((port) => listenOn(t, port)));
  t.ok(
    bound.every((server) => server !== undefined),
    "each binds at once",
  );
  const range = upFrontRange(ephemeralRange());
  if (range === undefined) {
    t.comment("no room below the ephemeral range here: the OS picked them");
    return;
  }
  t.ok(
    ports.every((port) => port >= range[0] && port <= range[1]),
    `all in ${range[0]}–${range[1]}, where no listen on port 0 nor outgoing connection takes a port`,
  );
});

t.test("freePorts: a port in use is passed over; with none left, the OS picks one", async (t) => {
  const taken = await freeNeighbours();
  t.ok(await listenOn(t, taken), `${taken} in use for this test`);
  t.same(await freePorts(1, [taken, taken + 1]), [taken + 1], "the free neighbour, not the port in use");
  const [picked] = await freePorts(1, [taken, taken]);
  t.ok(picked > 0 && picked !== taken, `every port of the range in use: the OS picked ${picked}, no error`);
});

t.test("freePorts: a port this process handed out in the last minute is not handed out again", async (t) => {
  const low = await freeNeighbours();
  const [first] = await freePorts(1, [low, low + 1]);
  const [second] = await freePorts(1, [low, low + 1]);
  t.same([first, second].sort(), [low, low + 1], "one, then the other, though the first is free again");
  const [third] = await freePorts(1, [low, low + 1]);
  t.ok(third !== low && third !== low + 1, `both handed out: the OS picked ${third}`);
});

/** Listens on 127.0.0.1:`port` until the test ends; undefined when it cannot. */
async function listenOn(t: Test, port: number): Promise<Server | undefined> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (!listening) return undefined;
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

/** The lower of two neighbouring ports that are both free, from the up-front range. */
async function freeNeighbours(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 19_999);
    const free = await Promise.all([probeFree(port), probeFree(port + 1)]);
    if (free.every(Boolean)) return port;
  }
}

/** Whether 127.0.0.1:`port` can be bound now (the probe is closed again at once). */
function probeFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
