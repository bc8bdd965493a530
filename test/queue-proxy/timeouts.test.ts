import t, { type Test } from "tap";
import { request } from "undici";
import { waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";

// Every case on both HTTP/1.1 data paths: the raw one (the default) and node:http's (the fallback
// where the raw path is unavailable).
for (const path of ["raw", "node"] as const) {
  t.test(`${path} path`, async (t) => {
    /**
     * The test app and a queue-proxy in front of it on the path under test, checked to run it (a
     * raw path unavailable falls back).
     */
    const started = async (t: Test, env: Record<string, string> = {}) => {
      const app = await startApp(t);
      const qp = await startQueueProxy(t, app.port, { SLUICE_DATA_PATH: path, ...env });
      t.equal(qp.message.dataPath, path, `the queue-proxy runs the ${path} path`);
      return { app, qp };
    };
    t.test("the revision timeout answers 504 and cancels the app's request", async (t) => {
      const { app, qp } = await started(t, {
        REVISION_TIMEOUT_SECONDS: "1",
      });
      const res = await request(`${qp.url}/hold`);
      t.equal(res.statusCode, 504);
      t.match(await res.body.text(), /timed out after 1s/);
      await waitFor("the app to see its request cancelled", async () => (await app.state()).aborted === 1);
      await qp.settled();
    });

    t.test("the revision timeout includes time spent queued", async (t) => {
      const { app, qp } = await started(t, {
        REVISION_TIMEOUT_SECONDS: "1",
        CONTAINER_CONCURRENCY: "1",
      });
      const first = request(`${qp.url}/hold`);
      await waitFor("first at the app", async () => (await app.state()).held === 1);
      // Queued behind it until its timeout frees the slot: what is left of the queued request's own
      // second then is the few ms between the two sends, too little for a 400 ms answer. Had its
      // queued time not counted, it would have a whole second left and answer 200.
      const queued = await request(`${qp.url}/sleep?ms=400`);
      t.equal(queued.statusCode, 504);
      t.equal((await first).statusCode, 504);
      await qp.settled();
    });

    t.test("responseStartTimeoutSeconds: no headers in time → 504", async (t) => {
      const { qp } = await started(t, {
        REVISION_TIMEOUT_SECONDS: "60",
        REVISION_RESPONSE_START_TIMEOUT_SECONDS: "1",
      });
      const res = await request(`${qp.url}/hold`);
      t.equal(res.statusCode, 504);
      t.match(await res.body.text(), /did not start its response in time/);
      await qp.settled();
    });

    t.test("responseStartTimeoutSeconds: a response that starts in time is answered", async (t) => {
      const { qp } = await started(t, {
        REVISION_TIMEOUT_SECONDS: "60",
        REVISION_RESPONSE_START_TIMEOUT_SECONDS: "2",
      });
      // Waiting through several of the pool's sweeps (every 500 ms here), each of which sees it waiting.
      const res = await request(`${qp.url}/sleep?ms=1200`);
      t.equal(res.statusCode, 200);
      await res.body.text();
      await qp.settled();
    });

    t.test("idleTimeoutSeconds after headers were sent: the response is reset, not completed", async (t) => {
      const { qp } = await started(t, {
        REVISION_TIMEOUT_SECONDS: "60",
        REVISION_IDLE_TIMEOUT_SECONDS: "1",
      });
      const res = await request(`${qp.url}/stall-after-headers`);
      t.equal(res.statusCode, 200, "headers had already been sent");
      await t.rejects(res.body.text(), "the client sees the response cut short");
      await qp.settled();
      const metrics = await (await request(`${qp.adminUrl}/metrics`)).body.text();
      t.match(metrics, /sluice_queue_proxy_timeouts_total\{[^}]*\} 1/);
    });

    t.test("upstream failures", async (t) => {
      t.test("connection refused → 502", async (t) => {
        const { app, qp } = await started(t);
        app.child.kill("SIGKILL");
        await app.exited;
        const res = await request(`${qp.url}/`);
        t.equal(res.statusCode, 502);
        t.match(await res.body.text(), /error talking to the app: ECONNREFUSED/);
        await qp.settled();
      });

      t.test("the app resets mid-response → the client's response is cut, not completed", async (t) => {
        const { qp } = await started(t);
        const res = await request(`${qp.url}/reset-mid-response`);
        t.equal(res.statusCode, 200);
        await t.rejects(res.body.text());
        await qp.settled();
      });
    });
  });
}
