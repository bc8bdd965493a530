// A pod the state still lists but that is gone (killed; the autoscaler has not noticed, or is
// restarting): the activator takes it out of use and holds the request for a pod that answers.
import t from "tap";
import { request } from "undici";
import { startActivator } from "../helpers/data-plane.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { TEST_HOP_SECRET, waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";

const headers = { "sluice-revision": "default/hello-00001", "sluice-hop-auth": TEST_HOP_SECRET };

t.test("a request whose pod refuses the connection waits for one that answers, no 502", async (t) => {
  const pod = async (name: string) => {
    const app = await startApp(t, { K_REVISION: "hello-00001", POD: name });
    const qp = await startQueueProxy(t, app.port, { SERVING_REVISION: "hello-00001" });
    return { pod: name, url: qp.url, qp };
  };
  const first = await pod("first");
  const service = serviceState("hello", [{ revision: "hello-00001", percent: 100 }]);
  const state = (generation: number, ...pods: { pod: string; url: string }[]) =>
    stateOf(
      [service],
      [revisionState("hello-00001", "hello", { mode: "proxy", endpoints: pods })],
      generation,
    );
  const fake = await startFakeAutoscaler(t, state(1, first));
  const activator = await startActivator(t, fake.url);
  const ok = await waitFor("the first pod serving", async () => {
    const res = await request(`${activator.url}/`, { headers });
    await res.body.dump();
    return res.statusCode === 200;
  });
  t.ok(ok);

  first.qp.child.kill("SIGKILL");
  await first.qp.exited;
  const second = await pod("second");
  fake.publish(state(2, { pod: first.pod, url: first.url }, second)); // the dead pod still listed
  const results = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const res = await request(`${activator.url}/`, { headers });
      return { status: res.statusCode, body: await res.body.text() };
    }),
  );
  t.same(
    results.map((res) => res.status),
    [200, 200, 200, 200, 200, 200],
    "answered by the live pod",
  );
  t.equal((await second.qp.stats()).proxiedRequestCount, 6, "all of them, counted as through the activator");
});
