// The router in the real data plane: autoscaler + local pods + activator + router processes.
import t from "tap";
import { Agent, request } from "undici";
import WebSocket from "ws";
import { fixtureService, startDataPlane } from "../helpers/data-plane.ts";
import { waitFor } from "../helpers/processes.ts";

t.test("scale from zero through the router, serve ↔ proxy under load with no failed request", async (t) => {
  const plane = await startDataPlane(
    t,
    fixtureService("plane", {
      cc: 2,
      maxScale: 4,
      // Knative's default burst capacity (211) keeps the activator in the path at this size;
      // with 0 it leaves as soon as a pod is ready.
      annotations: ['autoscaling.knative.dev/target-burst-capacity: "0"'],
    }),
  );
  const revision = "plane-00001";
  t.equal(
    (await plane.autoscaler.state()).revisions[`default/${revision}`].mode,
    "proxy",
    "at zero the activator is in the path",
  );
  const dispatcher = new Agent({ connections: 64 });
  t.teardown(() => dispatcher.close());
  const get = async (path = "/") => {
    const res = await request(`${plane.router.url}${path}`, {
      dispatcher,
      headers: { host: "plane.default.example.com" },
    });
    return { status: res.statusCode, revision: res.headers["sluice-revision"], body: await res.body.text() };
  };

  const first = await get();
  t.same(
    first,
    { status: 200, revision, body: `hello from ${revision}\n` },
    "the first request scales it from zero",
  );

  // Sustained load: the revision gets pods and moves to serve mode; count every answer.
  const statuses = new Map<number, number>();
  const modes = new Set<string>();
  let stop = false;
  const clients = Array.from({ length: 12 }, async () => {
    while (!stop) {
      const res = await get("/sleep?ms=20");
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  });
  await waitFor(
    "serve mode under load",
    async () => {
      const mode = (await plane.autoscaler.state()).revisions[`default/${revision}`].mode;
      modes.add(mode);
      return mode === "serve";
    },
    { timeoutMs: 30_000, everyMs: 100 },
  );
  stop = true;
  await Promise.all(clients);
  t.same([...statuses.keys()], [200], `all ${statuses.get(200)} requests under load answered 200`);
  t.ok(modes.has("serve"), "the router sent straight to pods once the autoscaler said serve");

  // Idle: back to zero and proxy mode; the next request scales it up again.
  await waitFor(
    "scaled back to zero",
    async () => (await plane.autoscaler.state()).revisions[`default/${revision}`].desiredPods === 0,
    { timeoutMs: 40_000, everyMs: 200 },
  );
  t.equal((await plane.autoscaler.state()).revisions[`default/${revision}`].mode, "proxy");
  t.same(await get(), first, "a request at zero again succeeds");
});

t.test("a WebSocket to a service at zero is held by the activator until a pod is ready", async (t) => {
  const plane = await startDataPlane(t, fixtureService("socket"));
  const socket = new WebSocket(`ws://127.0.0.1:${plane.router.port}/`, { headers: { host: "socket" } });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  const reply = new Promise((resolve) => socket.once("message", (data) => resolve(String(data))));
  socket.send("ping");
  t.equal(await reply, "ping");
  socket.close();
});
