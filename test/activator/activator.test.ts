import t from "tap";
import { Agent, request } from "undici";
import { ROUTE_CHANGE_GRACE_MS } from "../../activator/request-check.ts";
import { startAutoscaler } from "../helpers/autoscaler.ts";
import { fixtureService, startActivator } from "../helpers/data-plane.ts";
import { TEST_HOP_SECRET, waitFor } from "../helpers/processes.ts";

type Teardown = { teardown(fn: () => unknown): void };

function service(name: string, { cc = 0, command = undefined as string | undefined, timeout = 60 } = {}) {
  return fixtureService(name, { cc, command, timeoutSeconds: timeout });
}

/** Autoscaler (local platform) and activator: requests go straight to the activator here. */
async function startDataPlane(t: Teardown, services: string) {
  const autoscaler = await startAutoscaler(t);
  await autoscaler.apply(services);
  const activator = await startActivator(t, autoscaler.url);
  return {
    url: activator.url,
    adminUrl: activator.adminUrl,
    state: autoscaler.state,
    apply: autoscaler.apply,
    activator: activator.proc,
  };
}

const send = (dispatcher: Agent, url: string, revision: string, path = "/", signal?: AbortSignal) =>
  request(`${url}${path}`, {
    dispatcher,
    headers: { "sluice-revision": `default/${revision}`, "sluice-hop-auth": TEST_HOP_SECRET },
    signal,
  }).then(async (res) => ({
    status: res.statusCode,
    body: await res.body.text(),
  }));

t.test("1,000 concurrent requests to a revision at zero all succeed once it scales up", async (t) => {
  const plane = await startDataPlane(t, service("burst"));
  t.equal((await plane.state()).revisions["default/burst-00001"].desiredPods, 0, "starts at zero");
  const dispatcher = new Agent({ connections: 1000 });
  t.teardown(() => dispatcher.close());
  const results = await Promise.all(
    Array.from({ length: 1000 }, () => send(dispatcher, plane.url, "burst-00001")),
  );
  const byStatus = new Map<number, number>();
  for (const result of results) byStatus.set(result.status, (byStatus.get(result.status) ?? 0) + 1);
  t.same(Object.fromEntries(byStatus), { 200: 1000 }, "every request answered 200");
  t.equal(results[0].body, "hello from burst-00001\n");
  const metrics = await (await request(`${plane.adminUrl}/metrics`)).body.text();
  t.match(
    metrics,
    /sluice_activator_requests_total\{service="burst",namespace="default",revision="burst-00001",code="200"\} 1000/,
  );
  t.match(
    metrics,
    /sluice_activator_queued_requests\{service="burst",namespace="default",revision="burst-00001"\} 0/,
  );
  t.match(
    metrics,
    /sluice_activator_rejected_requests_total\{service="burst",namespace="default",revision="burst-00001"\} 0/,
    "the rejection counter exists at 0 from the revision's tracking",
  );
});

t.test("no pod ever gets more than containerConcurrency requests at once", async (t) => {
  const plane = await startDataPlane(t, service("single", { cc: 1 }));
  const dispatcher = new Agent({ connections: 100 });
  t.teardown(() => dispatcher.close());
  const results = await Promise.all(
    Array.from({ length: 30 }, () => send(dispatcher, plane.url, "single-00001", "/sleep?ms=200")),
  );
  t.same(new Set(results.map((r) => r.status)), new Set([200]));
  const endpoints = (await plane.state()).revisions["default/single-00001"].endpoints;
  let served = 0;
  for (const endpoint of endpoints) {
    const app = (await (await request(`${endpoint.url}/_state`)).body.json()) as {
      maxInFlight: number;
      requestsByPath: Record<string, number>;
    };
    t.ok(app.maxInFlight <= 1, `${endpoint.pod}: at most 1 in flight (saw ${app.maxInFlight})`);
    served += app.requestsByPath["/sleep"] ?? 0;
  }
  t.ok(served <= 30 && served > 0, `the live pods served ${served} of the 30`);
});

t.test("a revision that cannot start: waiting requests get 503 with the reason, promptly", async (t) => {
  const plane = await startDataPlane(
    t,
    service("broken", {
      command: `"${process.execPath}", "-e", "console.error('no DATABASE_URL'); process.exit(3)"`,
    }),
  );
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const results = await Promise.all(
    Array.from({ length: 5 }, () => send(dispatcher, plane.url, "broken-00001")),
  );
  for (const result of results) {
    t.equal(result.status, 503);
    t.match(
      result.body,
      /activator: revision default\/broken-00001 cannot become ready: app exited with code 3 \(last output: no DATABASE_URL\)/,
    );
  }
});

t.test("a revision that never becomes ready: 503 at its own timeout, not a short default", async (t) => {
  const plane = await startDataPlane(
    t,
    service("silent", { command: `"${process.execPath}", "-e", "setInterval(() => {}, 1000)"`, timeout: 2 }),
  );
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const result = await send(dispatcher, plane.url, "silent-00001");
  t.equal(result.status, 503);
  t.match(result.body, /activator: revision default\/silent-00001 did not become ready within 2s/);
});

t.test("clients that disconnect while waiting leave the queue", async (t) => {
  const plane = await startDataPlane(
    t,
    service("slow", { command: `"${process.execPath}", "-e", "setInterval(() => {}, 1000)"`, timeout: 60 }),
  );
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const controller = new AbortController();
  const pending = Array.from({ length: 10 }, () =>
    send(dispatcher, plane.url, "slow-00001", "/", controller.signal).catch((e) => e),
  );
  const depth = async () =>
    (await (await request(`${plane.adminUrl}/metrics`)).body.text()).match(
      /sluice_activator_queued_requests\{[^}]*revision="slow-00001"\} (\d+)/,
    )?.[1];
  await waitFor("ten waiting", async () => (await depth()) === "10");
  controller.abort();
  await Promise.all(pending);
  await waitFor("queue empty", async () => (await depth()) === "0");
  t.pass("every slot freed");
});

t.test("bad requests", async (t) => {
  const plane = await startDataPlane(t, service("plain"));
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const missing = await request(`${plane.url}/`, {
    dispatcher,
    headers: { "sluice-hop-auth": TEST_HOP_SECRET },
  });
  t.equal(missing.statusCode, 400);
  t.match(await missing.body.text(), /missing Sluice-Revision header/);
  const unknown = await send(dispatcher, plane.url, "nope-00001");
  t.equal(unknown.status, 404);
  t.match(unknown.body, /unknown revision default\/nope-00001/);
  for (const auth of [{}, { "sluice-hop-auth": "a-guess-at-the-secret" }]) {
    const forged = await request(`${plane.url}/`, {
      dispatcher,
      headers: { "sluice-revision": "default/plain-00001", ...auth },
    });
    t.equal(forged.statusCode, 403, "Sluice-Revision counts only with the hop secret");
    t.match(await forged.body.text(), /accepted from the router only/);
  }
});

t.test("a revision no route sends traffic to is refused", async (t) => {
  const plane = await startDataPlane(t, service("old"));
  await plane.apply(service("old").replace('value: "v1"', 'value: "v2"'));
  await waitFor("old-00002 takes the traffic", async () => {
    const state = await plane.state();
    return (
      state.revisions["default/old-00001"] &&
      state.services["default/old"]?.traffic[0]?.revision === "old-00002"
    );
  });
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  // For ROUTE_CHANGE_GRACE_MS after its last route went the activator still takes it (a router
  // behind the state may send it): such a request is held, and given up here after a moment.
  const refused = await waitFor(
    "the activator to see the new route, and the grace to pass",
    async () => {
      const res = await send(dispatcher, plane.url, "old-00001", "/", AbortSignal.timeout(500)).catch(
        () => undefined,
      );
      return res?.status === 404 ? res : undefined;
    },
    { timeoutMs: ROUTE_CHANGE_GRACE_MS + 10_000, everyMs: 200 },
  );
  t.match(refused.body, /no route sends traffic to revision default\/old-00001/);
});

t.test("SIGTERM: readiness fails at once, what the activator holds is finished, then it exits", async (t) => {
  const plane = await startDataPlane(
    t,
    service("held", { timeout: 2 }).replace('initial-scale: "0"', 'min-scale: "1"'),
  );
  const { url, adminUrl, activator } = plane;
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());

  // The revision timeout (2 s) reaches the client as the queue-proxy's 504, through the activator.
  const timedOut = await send(dispatcher, url, "held-00001", "/hold");
  t.equal(timedOut.status, 504);
  // Both hops enforce the revision timeout; whichever notices first answers.
  t.match(timedOut.body, /(queue-proxy|activator): request timed out after 2s/);

  const pod = await waitFor(
    "a ready pod",
    async () => (await plane.state()).revisions["default/held-00001"].endpoints[0]?.url,
  );
  const held = send(dispatcher, url, "held-00001", "/sleep?ms=500");
  await waitFor("request at the app", async () => {
    const app = (await (await request(`${pod}/_state`)).body.json()) as { inFlight: number };
    return app.inFlight >= 1;
  });
  activator.child.kill("SIGTERM");
  await waitFor("readiness fails", async () => (await request(`${adminUrl}/readyz`)).statusCode === 503);
  t.same(await held, { status: 200, body: "slept\n" }, "the request it held was finished");
  t.equal(await activator.exited, 0, "exits cleanly");
});
