// socket-writer.ts: writes through the socket's native handle. What the kernel takes at once is
// done (the request object reused); what it cannot take waits in order and reports backpressure
// until written, then onDrain runs once.
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import t from "tap";
import { listen } from "../../common/http/listen.ts";
import { loadStreamWrap, SocketWriter } from "../../common/http/raw/socket-writer.ts";
import { openSocket } from "../helpers/raw-http.ts";

t.test("writes complete at once, or wait in order and drain once", async (t) => {
  const binding = loadStreamWrap();
  if ("problem" in binding) throw new Error(binding.problem);
  let peer: Socket | undefined;
  const server = createServer((socket) => {
    peer = socket;
    socket.pause();
  });
  const port = await listen(server, 0);
  t.teardown(() => server.close());
  const socket = await openSocket(port);
  t.teardown(() => socket.destroy());
  while (peer === undefined) await once(server, "connection");

  let drains = 0;
  const writer = new SocketWriter(socket, binding, () => drains++);
  t.equal(writer.write("small\n"), true, "taken at once");
  t.equal(writer.write(Buffer.from("also small\n")), true);
  const big = Buffer.alloc(32 * 1024 * 1024, "x");
  t.equal(writer.write(big), false, "more than the kernel holds: it waits");
  t.equal(writer.write("tail\n"), false, "queued behind it, in order");
  t.ok(writer.waiting);

  const chunks: Buffer[] = [];
  const reader = peer as Socket;
  reader.on("data", (chunk: Buffer) => chunks.push(chunk));
  reader.resume();
  while (writer.waiting) await new Promise((resolve) => setImmediate(resolve));
  t.equal(drains, 1, "onDrain once, when all of it was written");
  const expected = 6 + 11 + big.length + 5;
  while (Buffer.concat(chunks).length < expected) await once(reader, "data");
  const all = Buffer.concat(chunks);
  t.equal(all.subarray(0, 17).toString(), "small\nalso small\n");
  t.equal(all.subarray(17 + big.length).toString(), "tail\n", "the last write came last");
  t.equal(writer.write("again\n"), true, "taken at once again");
});

t.test("a missing binding is named, not thrown", async (t) => {
  t.match(
    loadStreamWrap(() => ({})),
    { problem: /no WriteWrap/ },
  );
  t.match(
    loadStreamWrap(() => {
      throw new Error("No such binding");
    }),
    { problem: /stream_wrap: No such binding/ },
  );
});
