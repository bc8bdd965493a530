import t from "tap";
import { request } from "undici";
import { waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";

t.test("200 concurrent clients never push the app past containerConcurrency", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { CONTAINER_CONCURRENCY: "10", QUEUE_DEPTH: "200" });
  const responses = Array.from({ length: 200 }, () => request(`${qp.url}/hold`));
  // Release in rounds until every request has been served; each round frees at most 10 slots.
  let done = false;
  const all = Promise.all(responses).finally(() => (done = true));
  while (!done) {
    await waitFor("the app to hold a full round", async () => done || (await app.state()).held > 0);
    const state = await app.state();
    t.ok(state.inFlight <= 10, `app in flight ${state.inFlight} <= 10`);
    await app.release();
  }
  const results = await all;
  const codes = await Promise.all(
    results.map(async (res) => {
      await res.body.text();
      return res.statusCode;
    }),
  );
  t.same(new Set(codes), new Set([200]), "all 200 succeeded");
  const state = await app.state();
  t.equal(state.maxInFlight, 10, "the app saw exactly the limit at its busiest");
  await qp.settled();
});

t.test("beyond the queue, requests get 503 at once with Retry-After", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { CONTAINER_CONCURRENCY: "1" }); // queue: 10 × 1
  const admitted = request(`${qp.url}/hold`);
  await waitFor("one in flight", async () => (await app.state()).held === 1);
  const queued = Array.from({ length: 10 }, () => request(`${qp.url}/hold`));
  await waitFor("ten queued", async () => (await qp.stats()).queued === 10);
  const rejected = await request(`${qp.url}/hold`);
  t.equal(rejected.statusCode, 503);
  t.equal(rejected.headers["retry-after"], "1");
  t.match(await rejected.body.text(), /queue full/);
  // Drain the queue one by one: FIFO, one at a time.
  for (let served = 0; served < 11; served++) {
    await waitFor("next request at the app", async () => (await app.state()).held === 1);
    t.ok((await app.state()).maxInFlight <= 1);
    await app.release();
  }
  for (const res of [await admitted, ...(await Promise.all(queued))]) t.equal(res.statusCode, 200);
  await qp.settled();
  const metrics = await (await request(`${qp.adminUrl}/metrics`)).body.text();
  t.match(metrics, /sluice_queue_proxy_rejected_requests_total\{[^}]*\} 1/);
});

t.test("containerConcurrency 0 is unlimited", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { CONTAINER_CONCURRENCY: "0" });
  const responses = Array.from({ length: 100 }, () => request(`${qp.url}/hold`));
  await waitFor("all 100 at the app at once", async () => (await app.state()).held === 100);
  await app.release();
  for (const res of await Promise.all(responses)) t.equal(res.statusCode, 200);
  await qp.settled();
});
