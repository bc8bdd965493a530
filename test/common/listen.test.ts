// How every sluice process listens (common/http/listen.ts): on node's own handles, without node's
// cluster module (listen-handle.ts), with listen()'s behaviour: the port it got, its errors named,
// Unix sockets, and net.Server.listen() for what the handles do not cover.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import t, { type Test } from "tap";
import { freePort } from "../../common/free-port.ts";
import { listen, listenOnSocket } from "../../common/http/listen.ts";
import { listenDirectlyProblem, listenOnHandle } from "../../common/http/listen-handle.ts";
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

  const asked = await freePort();
  t.equal(await listen(greeter(t), asked, "127.0.0.1"), asked, "the port asked for");
});

t.test("every address (0.0.0.0, as on Kubernetes)", async (t) => {
  const server = greeter(t);
  const port = await listen(server, 0, "0.0.0.0");
  t.same(server.address(), { address: "0.0.0.0", family: "IPv4", port });
  t.equal(await greeting({ port, host: "127.0.0.1" }), "hi");
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
    cause: { code: "EADDRNOTAVAIL", syscall: "listen", address: "192.0.2.1" },
  });
});

t.test("what the handles do not cover goes to net.Server.listen(), as before", async (t) => {
  const server = createServer();
  t.notOk(listenOnHandle(server, { host: "localhost", port: 0 }), "a host name is not bound here");
  t.equal(server.listening, false, "and nothing done");
  const port = await listen(greeter(t), 0, "localhost");
  t.equal(await greeting({ port, host: "localhost" }), "hi", "listen() resolved it");

  t.equal(listenDirectlyProblem(server, { host: "127.0.0.1", port: 70_000 }), "not a port");
  await t.rejects(
    listen(greeter(t), 70_000, "127.0.0.1"),
    { code: "ERR_SOCKET_BAD_PORT" },
    "listen()'s error",
  );

  const listening = greeter(t);
  await listen(listening, 0);
  t.equal(listenDirectlyProblem(listening, { host: "127.0.0.1", port: 0 }), "already listening");
  await t.rejects(listen(listening, 0), { code: "ERR_SERVER_ALREADY_LISTEN" }, "listen()'s error");

  process.env.NODE_UNIQUE_ID = "1";
  t.equal(listenDirectlyProblem(server, { host: "127.0.0.1", port: 0 }), "a cluster worker");
  delete process.env.NODE_UNIQUE_ID;
  t.equal(listenDirectlyProblem(server, { host: "127.0.0.1", port: 0 }), undefined, "else: bound here");
  t.equal(listenDirectlyProblem(server, { path: "/tmp/x.sock" }), undefined, "a Unix socket too");
});

t.test("a server unref'd before it listens does not keep its process alive", async (t) => {
  const script = `
    import { createServer } from "node:net";
    import { listen } from ${JSON.stringify(`${ROOT}common/http/listen.ts`)};
    const server = createServer();
    server.unref();
    console.log(await listen(server, 0));`;
  // The process ending is the proof: a listening server still ref'd would keep it running.
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    timeout: 30_000,
  });
  t.ok(Number(stdout) > 0, "listened, then exited");
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
