// Clients are untrusted: the headers the data plane uses between its own hops never get past the
// router, over HTTP/1.1 or h2c, whatever the client claims (even the right hop secret).
import t from "tap";
import { Agent, type Dispatcher, request } from "undici";
import { createH2cClient } from "../../common/http/undici-dispatchers.ts";
import { revisionState, serviceState, startFakeAutoscaler, stateOf } from "../helpers/fake-autoscaler.ts";
import { TEST_HOP_SECRET } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";
import { startRouter } from "../helpers/router.ts";

const INTERNAL = ["sluice-revision", "k-proxy-request", "k-network-probe", "sluice-hop-auth"];
const forged = {
  "k-proxy-request": "activator",
  "k-network-probe": "queue",
  "sluice-revision": "hello-00002",
  "sluice-hop-auth": TEST_HOP_SECRET,
};

t.test("internal headers from clients", async (t) => {
  const app = await startApp(t, { K_REVISION: "hello-00001" });
  const qp = await startQueueProxy(t, app.port, { SERVING_REVISION: "hello-00001" });
  const other = await startApp(t, { K_REVISION: "hello-00002" });
  const activator = await startApp(t, { K_REVISION: "activator" });
  const state = (mode: "serve" | "proxy") =>
    stateOf(
      [serviceState("hello", [{ revision: "hello-00001", percent: 100 }])],
      [
        revisionState("hello-00001", "hello", { mode, endpoints: [{ pod: "p1", url: qp.url }] }),
        revisionState("hello-00002", "hello", { endpoints: [{ pod: "p2", url: other.url }] }),
      ],
    );
  const fake = await startFakeAutoscaler(t, state("serve"));
  const router = await startRouter(t, fake.url, { ACTIVATOR_URL: activator.url });
  const http1 = new Agent();
  const h2c = createH2cClient(router.url, {});
  t.teardown(() => Promise.all([http1.close(), h2c.close()]));
  const get = async (dispatcher: Dispatcher, path: string) => {
    const res = await request(`${router.url}${path}`, { dispatcher, headers: { host: "hello", ...forged } });
    return { status: res.statusCode, text: await res.body.text() };
  };

  for (const [protocol, dispatcher] of [
    ["HTTP/1.1", http1],
    ["h2c", h2c],
  ] as const) {
    t.test(`serve mode, ${protocol}`, async (t) => {
      await qp.stats(); // a fresh window
      const res = await get(dispatcher, "/headers");
      t.equal(res.status, 200);
      const seen = JSON.parse(res.text) as { headers: Record<string, string>; revision: string };
      t.equal(seen.revision, "hello-00001", "Sluice-Revision from a client chooses nothing");
      for (const name of INTERNAL) t.equal(seen.headers[name], undefined, `${name} does not reach the app`);
      t.not(res.text, "queue\n", "K-Network-Probe: the app answered, not the queue-proxy");
      await get(dispatcher, "/");
      const stats = await qp.stats();
      t.equal(stats.requestCount, 2);
      t.equal(stats.proxiedRequestCount, 0, "K-Proxy-Request from a client: not counted as proxied");
    });
  }

  t.test("proxy mode: the activator hears only the router's Sluice-Revision and hop secret", async (t) => {
    fake.publish({ ...state("proxy"), generation: 2 });
    await router.waitForGeneration(2);
    const res = await request(`${router.url}/headers`, {
      dispatcher: http1,
      headers: { host: "hello", ...forged, "sluice-hop-auth": "a-client-guess-at-it" },
    });
    const seen = (await res.body.json()) as { rawHeaders: string[]; revision: string };
    t.equal(seen.revision, "activator");
    const values = (name: string) =>
      seen.rawHeaders.filter((_, i) => i % 2 === 1 && seen.rawHeaders[i - 1].toLowerCase() === name);
    t.same(
      values("sluice-revision"),
      ["default/hello-00001"],
      "the revision the router chose (its key), once",
    );
    t.same(values("sluice-hop-auth"), [TEST_HOP_SECRET], "the router's secret, not the client's");
    t.same(values("k-proxy-request"), []);
    t.same(values("k-network-probe"), []);
  });
});
