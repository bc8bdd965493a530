// Router → queue-proxy → app, with real queue-proxies: the long-lived and streaming kinds of
// traffic (WebSocket, Server-Sent Events, gRPC over h2c, big bodies both ways, trailers).
import { Readable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import t from "tap";
import { Agent, request } from "undici";
import WebSocket from "ws";
import { echoService } from "../fixtures/grpc-app.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";

const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

t.test("streams through router → queue-proxy → app", async (t) => {
  const app = await startApp(t, { K_REVISION: "web-00001" });
  const qp = await startQueueProxy(t, app.port);
  const grpcApp = await startProcess(t, "test/fixtures/grpc-app.ts", { PORT: "0", GRPC_APP_MAIN: "1" });
  const grpcQp = await startQueueProxy(t, grpcApp.message.port as number, { USER_PROTOCOL: "h2c" });
  const fake = await startFakeAutoscaler(
    t,
    stateOf(
      [
        serviceState("web", [{ revision: "web-00001", percent: 100 }]),
        serviceState("echo", [{ revision: "echo-00001", percent: 100 }]),
      ],
      [
        revisionState("web-00001", "web", { endpoints: [{ pod: "p", url: qp.url }] }),
        revisionState("echo-00001", "echo", { protocol: "h2c", endpoints: [{ pod: "g", url: grpcQp.url }] }),
      ],
    ),
  );
  const router = await startRouter(t, fake.url);
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const host = { host: "web.default.example.com" };

  t.test("WebSocket upgrade", async (t) => {
    const socket = new WebSocket(`ws://127.0.0.1:${router.port}/`, { headers: host });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const replies: string[] = [];
    socket.on("message", (data) => replies.push(String(data)));
    for (const text of ["one", "two", "three"]) socket.send(text);
    await waitFor("three echoes", () => replies.length === 3);
    t.same(replies, ["one", "two", "three"]);
    socket.close();
    await new Promise((resolve) => socket.once("close", resolve));
    const unknown = new WebSocket(`ws://127.0.0.1:${router.port}/`, { headers: { host: "nope" } });
    unknown.on("error", () => {}); // terminate() before an open reports one
    const status = await new Promise((resolve) =>
      unknown.once("unexpected-response", (_req, res) => resolve(res.statusCode)),
    );
    t.equal(status, 404, "an upgrade for an unknown host gets 404");
    unknown.terminate();
  });

  t.test("Server-Sent Events: the first event arrives before the stream ends", async (t) => {
    const res = await request(`${router.url}/sse`, { dispatcher, headers: host });
    t.equal(res.headers["content-type"], "text/event-stream");
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    t.equal(String(first.value), "data: first\n\n");
    await app.release();
    let rest = "";
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest += next.value;
    t.equal(rest, "released\n");
  });

  t.test("a 10 MB upload streams through and back; a 20 MB download streams", async (t) => {
    const chunk = Buffer.alloc(1024 * 1024, 0x62);
    async function* body() {
      for (let i = 0; i < 10; i++) yield chunk;
    }
    const echoed = await request(`${router.url}/echo`, {
      dispatcher,
      method: "POST",
      headers: host,
      body: Readable.from(body()),
    });
    let received = 0;
    for await (const piece of echoed.body) received += (piece as Buffer).length;
    t.equal(received, 10 * 1024 * 1024);
    const download = await request(`${router.url}/big?bytes=20000000`, { dispatcher, headers: host });
    let downloaded = 0;
    for await (const piece of download.body) downloaded += (piece as Buffer).length;
    t.equal(downloaded, 20_000_000);
  });

  t.test("response trailers reach the client", async (t) => {
    const res = await request(`${router.url}/trailers`, { dispatcher, headers: host });
    t.equal(await res.body.text(), "body");
    t.same(res.trailers, { "x-checksum": "abc123" });
  });

  t.test("gRPC over h2c: unary, an error status in trailers, server streaming", async (t) => {
    const client = new EchoClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure(), {
      "grpc.default_authority": "echo.default.example.com",
    }) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
    t.teardown(() => client.close());
    const reply = await new Promise((resolve, reject) =>
      client.say({ text: "hi" }, (error: Error | null, value: unknown) =>
        error ? reject(error) : resolve(value),
      ),
    );
    t.same(reply, { text: "echo: hi" });
    const failure = await new Promise<grpc.ServiceError>((resolve) =>
      client.say({ text: "fail" }, (error: grpc.ServiceError) => resolve(error)),
    );
    t.equal(failure.code, grpc.status.FAILED_PRECONDITION);
    t.equal(failure.details, "asked to fail");
    const numbers: number[] = [];
    for await (const message of client.count({ to: 5 }) as grpc.ClientReadableStream<{ n: number }>)
      numbers.push(message.n);
    t.same(numbers, [1, 2, 3, 4, 5]);
  });

  t.test("nothing left in flight anywhere", async (t) => {
    await qp.settled();
    await grpcQp.settled();
    await waitFor(
      "router in-flight back to 0",
      async () => !/sluice_router_in_flight_requests\{[^}]*\} [1-9]/.test(await router.metrics()),
    );
    t.pass("router, queue-proxies: in flight 0");
  });
});
