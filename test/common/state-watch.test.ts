import { createServer } from "node:http";
import t from "tap";
import { StatePublisher } from "../../autoscaler/state-publisher.ts";
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

async function startPublisher(t: { teardown(fn: () => unknown): void }, port = 0) {
  const publisher = new StatePublisher("example.com");
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
      { "hello-00001": revision("hello-00001") },
    ),
    2,
  );
  t.equal(
    publisher.publish(
      { "default/hello": service("hello-00001") },
      { "hello-00001": revision("hello-00001") },
    ),
    0,
    "no change, no event",
  );
  t.equal(publisher.state.generation, 2);
  t.equal(
    publisher.publish(
      { "default/hello": service("hello-00002") },
      { "hello-00002": revision("hello-00002") },
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
      { "hello-00001": revision("hello-00001") },
    );
    const states: DataPlaneState[] = [];
    const watcher = new StateWatcher({
      autoscalerUrl: `http://127.0.0.1:${first.port}`,
      log: createLogger("test", "silent"),
      onState: (state) => states.push(state),
    });
    t.teardown(() => watcher.stop());
    watcher.start();
    await waitFor("snapshot", () => watcher.state?.revisions["hello-00001"]);
    t.equal(watcher.state?.services["default/hello"].traffic[0].revision, "hello-00001");

    first.publisher.publish(
      { "default/hello": service("hello-00001") },
      { "hello-00001": revision("hello-00001", 2) },
    );
    await waitFor("change", () => watcher.state?.revisions["hello-00001"].endpoints.length === 2);
    t.equal(watcher.state?.revisions["hello-00001"].mode, "serve");
    for (const state of states) {
      for (const svc of Object.values(state.services)) {
        for (const target of svc.traffic)
          t.ok(state.revisions[target.revision], "every state seen is consistent");
      }
    }

    // The autoscaler goes away: the last state stays.
    first.publisher.close();
    first.server.closeAllConnections();
    await new Promise((resolve) => first.server.close(resolve));
    await waitFor("disconnect noticed", () => !watcher.connected);
    t.equal(watcher.state?.revisions["hello-00001"].endpoints.length, 2, "last state kept");

    // It comes back on the same port with different state: the watcher resyncs from the snapshot.
    const second = await startPublisher(t, first.port);
    second.publisher.publish(
      { "default/hello": service("hello-00002") },
      { "hello-00002": revision("hello-00002") },
    );
    await waitFor("resync", () => watcher.state?.revisions["hello-00002"]);
    t.notOk(watcher.state?.revisions["hello-00001"], "stale revision gone after resync");
  },
);
