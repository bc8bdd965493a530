// Ports chosen up front (common/free-port.ts): distinct, free, and below the kernel's ephemeral
// range, so neither a listen on port 0 nor an outgoing connection takes one before it is bound.
import { createServer } from "node:net";
import t from "tap";
import { ephemeralRange, freePorts, upFrontRange } from "../../common/free-port.ts";

t.test("upFrontRange: below the ephemeral range, when there is room", async (t) => {
  t.same(upFrontRange([32768, 60999]), [10000, 32767], "Linux's default range");
  t.same(upFrontRange([49152, 65535]), [10000, 49151], "IANA's range");
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

t.test("freePorts: distinct ports, free to bind, below the ephemeral range here", async (t) => {
  const ports = await freePorts(5);
  t.equal(new Set(ports).size, 5, `five distinct ports: ${ports.join(", ")}`);
  for (const port of ports) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  }
  t.pass("each binds at once");
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
