import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { request } from "undici";
import { DrainHook } from "../../queue-proxy/drain-hook.ts";
import { waitFor } from "../helpers/processes.ts";
import { startApp, startQueueProxy } from "../helpers/queue-proxy.ts";

/** A Drainer stand-in whose drain ends when the test says. */
function fakeDrainer() {
  let run: PromiseWithResolvers<boolean> | undefined;
  const calls = { drain: 0, cancel: 0 };
  return {
    calls,
    drain() {
      calls.drain++;
      run ??= Promise.withResolvers<boolean>();
      return run.promise;
    },
    cancel() {
      calls.cancel++;
      run?.resolve(false);
      run = undefined;
    },
    finish(clean: boolean) {
      run?.resolve(clean);
    },
  };
}

t.test("hook, then SIGTERM within the confirm window: answered once drained", async (t) => {
  const drainer = fakeDrainer();
  const hook = new DrainHook(drainer, 5_000);
  const order: string[] = [];
  const answered = hook.wait().then((outcome) => {
    order.push(`hook ${outcome}`);
    return outcome;
  });
  t.equal(drainer.calls.drain, 1, "the hook starts the drain");
  const terminated = hook.terminate().then((clean) => order.push(`terminate ${clean}`));
  drainer.finish(true);
  t.equal(await answered, "drained");
  await terminated;
  t.same(order, ["hook drained", "terminate true"], "the hook is answered before the process may exit");
  t.equal(drainer.calls.cancel, 0);
});

t.test("no SIGTERM within the confirm window (a container restart): the drain is cancelled", async (t) => {
  const drainer = fakeDrainer();
  const hook = new DrainHook(drainer, 20);
  const started = Date.now();
  t.equal(await hook.wait(), "cancelled");
  t.ok(Date.now() - started >= 15, "after the confirm window");
  t.equal(drainer.calls.cancel, 1);

  const again = hook.wait();
  t.equal(drainer.calls.drain, 2, "a later hook starts a fresh drain");
  void hook.terminate();
  drainer.finish(false);
  t.equal(await again, "timeout", "a drain that hit its timeout says so");
});

t.test("concurrent hooks share one wait and one drain", async (t) => {
  const drainer = fakeDrainer();
  const hook = new DrainHook(drainer, 20);
  const first = hook.wait();
  t.equal(hook.wait(), first);
  t.equal(drainer.calls.drain, 1);
  t.equal(await first, "cancelled");
  t.equal(drainer.calls.cancel, 1, "cancelled once");
});

t.test("SIGTERM before the hook: no confirm window, the hook joins the drain", async (t) => {
  const drainer = fakeDrainer();
  const hook = new DrainHook(drainer, 60_000);
  const terminated = hook.terminate();
  const answered = hook.wait();
  drainer.finish(true);
  t.equal(await answered, "drained", "without waiting the minute");
  t.equal(await terminated, true);
});

const get = async (url: string, method: "GET" | "POST" = "GET") => {
  const res = await request(url, { method });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
};

t.test("/wait-for-drain, then SIGTERM: serves on, answers once drained, then exits", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { QUEUE_DRAIN_QUIET_SECONDS: "0.3" });
  const held = request(`${qp.url}/hold`);
  await waitFor("a request at the app", async () => (await app.state()).held === 1);

  let answered = 0;
  const hooks = [1, 2].map(() =>
    get(`${qp.adminUrl}/wait-for-drain`).then((res) => {
      answered++;
      return res;
    }),
  );
  await waitFor("readiness to fail", async () => (await get(`${qp.adminUrl}/readyz`)).status === 503);
  // As the kubelet does on deletion: the queue-proxy has no hook, so it gets SIGTERM at once.
  qp.child.kill("SIGTERM");

  const late = await get(`${qp.url}/`);
  t.equal(late.status, 200, "a request still routed here is served");
  t.equal(late.headers.connection, "close", "and closes its connection");
  // Longer than the quiet period: the request in flight is what keeps the drain open.
  await sleep(600);
  t.equal(answered, 0, "no answer while a request is in flight");
  t.equal(qp.child.exitCode, null, "still running");

  await app.release();
  t.equal((await held).statusCode, 200, "the request in flight is answered");
  for (const hook of await Promise.all(hooks)) {
    t.equal(hook.status, 200);
    t.equal(hook.body, "drained\n", "both calls waited for the same drain");
  }
  t.equal(await qp.exited, 0, "exits cleanly with the drain");
});

t.test("/wait-for-drain without SIGTERM (a container restart): cancelled, ready again", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { QUEUE_DRAIN_QUIET_SECONDS: "0.1" });
  const hook = get(`${qp.adminUrl}/wait-for-drain`);
  await waitFor("readiness to fail", async () => (await get(`${qp.adminUrl}/readyz`)).status === 503);
  const answer = await hook;
  t.equal(answer.status, 200);
  t.match(answer.body, /drain cancelled/);
  t.equal((await get(`${qp.adminUrl}/readyz`)).status, 200, "ready again at once");
  const served = await get(`${qp.url}/`);
  t.equal(served.headers.connection, "keep-alive", "keep-alive again");
  t.equal(qp.child.exitCode, null, "still running");

  qp.child.kill("SIGTERM");
  t.equal(await qp.exited, 0, "a SIGTERM later drains afresh");
});

t.test("SIGTERM, then /wait-for-drain: the hook joins the drain under way", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port, { QUEUE_DRAIN_QUIET_SECONDS: "0.1" });
  const held = request(`${qp.url}/hold`);
  await waitFor("a request at the app", async () => (await app.state()).held === 1);
  qp.child.kill("SIGTERM");
  await waitFor("readiness to fail", async () => (await get(`${qp.adminUrl}/readyz`)).status === 503);
  const hook = get(`${qp.adminUrl}/wait-for-drain`);
  await app.release();
  await (await held).body.text();
  const answer = await hook;
  t.equal(answer.status, 200);
  t.equal(answer.body, "drained\n");
  t.equal(await qp.exited, 0);
});

t.test("/wait-for-drain takes GET only", async (t) => {
  const app = await startApp(t);
  const qp = await startQueueProxy(t, app.port);
  const res = await get(`${qp.adminUrl}/wait-for-drain`, "POST");
  t.equal(res.status, 405);
  t.equal(res.headers.allow, "GET");
  t.equal((await get(`${qp.adminUrl}/readyz`)).status, 200, "no drain started");
});
