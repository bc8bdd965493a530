import { createServer } from "node:http";
import { connect } from "node:net";
import t from "tap";
import { StatePublisher, type StatePublisherOptions } from "../../autoscaler/state-publisher.ts";
import { listen } from "../../common/http/listen.ts";
import { createLogger } from "../../common/log.ts";
import { SseParser } from "../../common/sse.ts";
import type { DataPlaneState, RevisionState, ServiceState } from "../../common/state.ts";
import { StateWatcher } from "../../common/state-watcher.ts";
import { waitFor } from "../helpers/processes.ts";

function revision(name: string, endpoints = 0): RevisionState {
  return {
    name,
    service: "hello",
    namespace: "default",
    mode: endpoints > 0 ? "serve" : "proxy",
    containerConcurrency: 0,
    timeoutSeconds: 300,
    protocol: "http1",
    desiredPods: endpoints,
    endpoints: Array.from({ length: endpoints }, (_, i) => ({
      pod: `${name}-${i}`,
      url: `http://127.0.0.1:${1000 + i}`,
    })),
  };
}

function service(revisionName: string): ServiceState {
  return {
    name: "hello",
    namespace: "default",
    hosts: ["hello.default.example.com"],
    traffic: [{ revision: revisionName, percent: 100 }],
    tags: {},
  };
}

async function startPublisher(
  t: { teardown(fn: () => unknown): void },
  port = 0,
  options: StatePublisherOptions = {},
) {
  const publisher = new StatePublisher("example.com", options);
  const server = createServer((req, res) => publisher.handle(req, res));
  const bound = await listen(server, port);
  t.teardown(() => {
    publisher.close();
    server.closeAllConnections();
    server.close();
  });
  return { publisher, server, port: bound };
}

t.test("SseParser handles split chunks, comments and ids", async (t) => {
  const parser = new SseParser();
  t.same(parser.push("id: 3\nevent: a\nda"), []);
  t.same(parser.push('ta: {"x":1}\n\n: heartbeat\n\nevent: b\ndata: 2\n\n'), [
    { event: "a", data: '{"x":1}', id: "3" },
    { event: "b", data: "2" },
  ]);
});

t.test("publisher sends only what changed, in a consistent order", async (t) => {
  const publisher = new StatePublisher("example.com");
  t.teardown(() => publisher.close());
  t.equal(
    publisher.publish(
      { "default/hello": service("hello-00001") },
      { "default/hello-00001": revision("hello-00001") },
    ),
    2,
  );
  t.equal(
    publisher.publish(
      { "default/hello": service("hello-00001") },
      { "default/hello-00001": revision("hello-00001") },
    ),
    0,
    "no change, no event",
  );
  t.equal(publisher.state.generation, 2);
  t.equal(
    publisher.publish(
      { "default/hello": service("hello-00002") },
      { "default/hello-00002": revision("hello-00002") },
    ),
    3,
  );
  t.equal(publisher.state.generation, 5);
});

t.test(
  "a watcher gets the snapshot, then changes, keeps its state when the autoscaler is gone, and resyncs",
  async (t) => {
    const first = await startPublisher(t);
    first.publisher.publish(
      { "default/hello": service("hello-00001") },
      { "default/hello-00001": revision("hello-00001") },
    );
    const states: DataPlaneState[] = [];
    const watcher = new StateWatcher({
      autoscalerUrl: `http://127.0.0.1:${first.port}`,
      log: createLogger("test", "silent"),
      onState: (state) => states.push(state),
    });
    t.teardown(() => watcher.stop());
    watcher.start();
    await waitFor("snapshot", () => watcher.state?.revisions["default/hello-00001"]);
    t.equal(watcher.state?.services["default/hello"].traffic[0].revision, "hello-00001");

    first.publisher.publish(
      { "default/hello": service("hello-00001") },
      { "default/hello-00001": revision("hello-00001", 2) },
    );
    await waitFor("change", () => watcher.state?.revisions["default/hello-00001"].endpoints.length === 2);
    t.equal(watcher.state?.revisions["default/hello-00001"].mode, "serve");
    // Every state handed over is consistent: each traffic target names a revision in it.
    const targets = states.flatMap((state) =>
      Object.values(state.services).flatMap((svc) =>
        svc.traffic.map((target) => ({ state, key: `${svc.namespace}/${target.revision}`, target })),
      ),
    );
    t.ok(states.length >= 2 && targets.length >= 2, "the snapshot and the change were both handed over");
    t.same(
      targets.filter(({ state, key }) => !state.revisions[key]).map(({ target }) => target),
      [],
      "every state seen is consistent",
    );

    // The autoscaler goes away: the last state stays.
    first.publisher.close();
    first.server.closeAllConnections();
    await new Promise((resolve) => first.server.close(resolve));
    await waitFor("disconnect noticed", () => !watcher.connected);
    t.equal(watcher.state?.revisions["default/hello-00001"].endpoints.length, 2, "last state kept");

    // It comes back on the same port with different state: the watcher resyncs from the snapshot.
    const second = await startPublisher(t, first.port);
    second.publisher.publish(
      { "default/hello": service("hello-00002") },
      { "default/hello-00002": revision("hello-00002") },
    );
    await waitFor("resync", () => watcher.state?.revisions["default/hello-00002"]);
    t.notOk(watcher.state?.revisions["default/hello-00001"], "stale revision gone after resync");
  },
);

t.test("a watcher that does not read is dropped; one that reads keeps up", async (t) => {
  const { publisher, port } = await startPublisher(t, 0, { maxBacklogBytes: 64 * 1024 });
  const big = (n: number): RevisionState => ({
    ...revision("hello-00001", 1),
    desiredPods: n,
    failure: { reason: "x".repeat(100_000), logs: [] },
  });
  publisher.publish({ "default/hello": service("hello-00001") }, { "default/hello-00001": big(0) });

  const reader = new StateWatcher({
    autoscalerUrl: `http://127.0.0.1:${port}`,
    log: createLogger("test", "silent"),
    onState: () => {},
  });
  t.teardown(() => reader.stop());
  reader.start();
  await waitFor("the reader's snapshot", () => reader.state?.revisions["default/hello-00001"]);

  // A client that sends the request and then never reads a byte.
  const stalled = connect(port, "127.0.0.1");
  t.teardown(() => stalled.destroy());
  stalled.pause();
  let closed = false;
  stalled.once("close", () => (closed = true));
  stalled.write(`GET /v1/state?watch=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await waitFor("both watching", () => publisher.watcherCount === 2);

  // Changes of ~100 kB each: the stalled watcher's backlog grows until it is dropped.
  let n = 0;
  await waitFor(
    "the stalled watcher dropped",
    () => {
      publisher.publish({ "default/hello": service("hello-00001") }, { "default/hello-00001": big(++n) });
      return publisher.watcherCount < 2;
    },
    { timeoutMs: 30_000, everyMs: 5 },
  );
  await waitFor("the stalled socket closed", () => {
    stalled.resume(); // now read, to see the end
    return closed;
  });
  await waitFor(
    "the reader at the last change",
    () => reader.state?.revisions["default/hello-00001"]?.desiredPods === n,
  );
  t.equal(publisher.watcherCount, 1, "the reader is still watching");
  t.ok(reader.connected);
});

t.test("watches past the cap are refused with 503", async (t) => {
  const { publisher, port } = await startPublisher(t, 0, { maxWatchers: 1 });
  const first = connect(port, "127.0.0.1");
  t.teardown(() => first.destroy());
  first.write(`GET /v1/state?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await waitFor("one watching", () => publisher.watcherCount === 1);
  const res = await fetch(`http://127.0.0.1:${port}/v1/state?watch=1`);
  t.equal(res.status, 503);
  t.equal(res.headers.get("retry-after"), "5");
  t.match(await res.text(), /too many state watchers \(1, AUTOSCALER_MAX_STATE_WATCHERS\); retry later/);
  first.destroy();
  await waitFor("the slot is free again", () => publisher.watcherCount === 0);
  const again = await fetch(`http://127.0.0.1:${port}/v1/state?watch=1`);
  t.equal(again.status, 200);
  await again.body?.cancel();
});
