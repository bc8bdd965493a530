// How every sluice process listens (common/http/listen.ts): on node's own handles, without node's
// cluster module (listen-handle.ts), with listen()'s behaviour: the port it got, its errors named,
// Unix sockets, and net.Server.listen() for what the handles do not cover.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import t, { type Test } from "tap";
import { listen, listenOnSocket } from "../../common/http/listen.ts";
import { listenOnHandle, loadHandleBindings } from "../../common/http/listen-handle.ts";
import { ROOT } from "../helpers/processes.ts";
import { tempDir } from "../helpers/temp.ts";

/** A server that answers "hi" and is closed when the test ends. */
function greeter(t: Test): Server {
  const server = createServer((socket) => socket.end("hi"));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())).catch(() => {}));
  return server;
}

function greeting(to: { port: number; host?: string } | { path: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(to as never);
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk;
    });
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

t.test("a TCP port: the one asked for or one the OS picks, served, reported and closed", async (t) => {
  const server = greeter(t);
  const port = await listen(server, 0, "127.0.0.1", "test server");
  t.ok(port > 0, "an OS-assigned port");
  t.same(server.address(), { address: "127.0.0.1", family: "IPv4", port });
  t.ok(server.listening);
  t.equal(await greeting({ port, host: "127.0.0.1" }), "hi");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.rejects(greeting({ port, host: "127.0.0.1" }), { code: "ECONNREFUSED" }, "closed");

  const again = greeter(t);
  t.equal(await listen(again, port, "127.0.0.1"), port, "the port asked for");
});

t.test("IPv6 loopback", async (t) => {
  const server = greeter(t);
  const port = await listen(server, 0, "::1");
  t.same(server.address(), { address: "::1", family: "IPv6", port });
  t.equal(await greeting({ port, host: "::1" }), "hi");
});

t.test("a port in use, or an address not on this machine: the error names it", async (t) => {
  const first = greeter(t);
  const port = await listen(first, 0);
  await t.rejects(listen(greeter(t), port, "127.0.0.1", "router"), {
    message: `router: cannot listen on 127.0.0.1:${port}: the port is already in use`,
    cause: { code: "EADDRINUSE" },
  });
  // 192.0.2.0/24 is TEST-NET-1: never a local address.
  await t.rejects(listen(greeter(t), 0, "192.0.2.1", "router"), {
    message: "router: cannot listen on 192.0.2.1:0: listen EADDRNOTAVAIL: address not available 192.0.2.1",
    cause: { code: "EADDRNOTAVAIL", syscall: "listen" },
  });
});

t.test("a host name is resolved by net.Server.listen(), as before", async (t) => {
  const server = createServer();
  t.notOk(listenOnHandle(server, { host: "localhost", port: 0 }), "not on a handle");
  t.equal(server.listening, false, "and nothing done");
  const port = await listen(greeter(t), 0, "localhost");
  t.equal(await greeting({ port, host: "localhost" }), "hi");
});

t.test("a Unix socket: served, its path as the address, removed on close", async (t) => {
  const path = join(tempDir(t), "listen.sock");
  const server = greeter(t);
  await listenOnSocket(server, path, "test server");
  t.equal(server.address(), path);
  t.equal(await greeting({ path }), "hi");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  t.notOk(existsSync(path), "the socket file is gone");

  // libuv reports a directory that is not there as EACCES, for net.Server.listen() too.
  await t.rejects(listenOnSocket(greeter(t), join(tempDir(t), "no", "such", "dir.sock"), "test server"), {
    message: /^test server: cannot listen on .*dir\.sock: listen EACCES: permission denied .*dir\.sock$/,
    cause: { code: "EACCES", syscall: "listen" },
  });
});

t.test("node's handles are checked: anything missing and listen() is used", async (t) => {
  const constants = { SERVER: 0 };
  class Handle {}
  t.ok(loadHandleBindings(), "found in this node");
  t.equal(
    loadHandleBindings((name) => (name === "tcp_wrap" ? { TCP: Handle, constants } : { constants })),
    null,
    "no Pipe",
  );
  t.equal(
    loadHandleBindings((name) => (name === "tcp_wrap" ? { TCP: Handle } : { Pipe: Handle, constants })),
    null,
    "no constants",
  );
  t.equal(
    loadHandleBindings(() => {
      throw new Error("no such binding");
    }),
    null,
    "a binding that throws",
  );
});

t.test("a process that listens does not load node's cluster module", async (t) => {
  const script = `
    import { createServer } from "node:net";
    import { listen } from ${JSON.stringify(`${ROOT}common/http/listen.ts`)};
    const server = createServer();
    await listen(server, 0);
    const loaded = process.moduleLoadList.filter((m) => m === "NativeModule cluster");
    console.log(JSON.stringify(loaded));
    server.close();`;
  // cluster alone: tap's preloads, which follow the test's child processes, load child_process.
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
  t.same(JSON.parse(stdout), [], "not loaded");
});
