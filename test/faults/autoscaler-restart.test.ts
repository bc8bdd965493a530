// The autoscaler dies (SIGKILL) under load and comes back: its pods keep answering meanwhile, the
// new autoscaler adopts them (same pod, same endpoint, no new pod) and goes on scaling them, and
// no request fails. A clean stop then stops every pod, adopted ones included.
import t from "tap";
import { Agent, request } from "undici";
import type { DataPlaneState, Endpoint } from "../../common/state.ts";
import { appService } from "../helpers/autoscaler.ts";
import { startActivator } from "../helpers/data-plane.ts";
import { isRunning, killAll, podPids, recordedPods, tempStateDir } from "../helpers/platform.ts";
import { startProcess, waitFor } from "../helpers/processes.ts";
import { startRouter } from "../helpers/router.ts";

const REVISION = "steady-00001";
const HOST = "steady.default.example.com";

/** Sends requests one after another until stopped (or a bound), counting answers by status. */
function loadLoop(url: string, headers: Record<string, string>, dispatcher: Agent) {
  const statuses = new Map<string, number>();
  let sent = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped && sent < 50_000) {
      sent++;
      let status: string;
      try {
        const res = await request(url, { headers, dispatcher });
        await res.body.text();
        status = String(res.statusCode);
      } catch (error) {
        status = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  })();
  return {
    ok: () => statuses.get("200") ?? 0,
    stop: async () => {
      stopped = true;
      await done;
      return Object.fromEntries(statuses);
    },
  };
}

t.test("an autoscaler SIGKILLed under load: pods keep answering, are adopted, and scale on", async (t) => {
  const stateDir = tempStateDir(t, "sluice-restart-");
  const env = {
    SLUICE_STATE_DIR: stateDir,
    AUTOSCALER_TICK_SECONDS: "0.25",
    SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
  };
  const first = await startProcess(t, "autoscaler/main.ts", { ...env, AUTOSCALER_PORT: "0" });
  const port = first.message.port as number;
  const autoscalerUrl = `http://127.0.0.1:${port}`;
  const state = async () =>
    (await (await request(`${autoscalerUrl}/v1/state`)).body.json()) as DataPlaneState;
  const applied = await request(`${autoscalerUrl}/v1/services`, {
    method: "PUT",
    headers: { "content-type": "application/yaml" },
    body: appService("steady", {
      annotations: [
        'autoscaling.knative.dev/min-scale: "1"',
        'autoscaling.knative.dev/max-scale: "3"',
        'autoscaling.knative.dev/target: "2"',
        'autoscaling.knative.dev/target-burst-capacity: "0"',
      ],
    }),
  });
  t.equal(applied.statusCode, 200, `applied: ${await applied.body.text()}`);
  t.teardown(() => killAll(podPids(recordedPods(stateDir)).filter(isRunning)));

  const activator = await startActivator(t, autoscalerUrl);
  const router = await startRouter(t, autoscalerUrl, { ACTIVATOR_URL: activator.url });
  const before = await waitFor("one ready pod, served directly", async () => {
    const revision = (await state()).revisions[`default/${REVISION}`];
    return revision?.endpoints.length === 1 && revision.mode === "serve" ? revision.endpoints : undefined;
  });
  const dispatcher = new Agent({ connections: 8 });
  t.teardown(() => dispatcher.close());
  await waitFor(
    "the router serves it",
    async () => (await request(router.url, { headers: { host: HOST }, dispatcher })).statusCode === 200,
  );
  const [pod] = recordedPods(stateDir);
  t.equal(pod.name, before[0].pod, "the endpoint is the recorded pod");

  const direct = loadLoop(`${before[0].url}/`, {}, dispatcher);
  const routed = loadLoop(`${router.url}/`, { host: HOST }, dispatcher);
  await waitFor("load running", () => direct.ok() > 20 && routed.ok() > 20);

  first.child.kill("SIGKILL");
  await first.exited;
  t.ok(podPids([pod]).every(isRunning), "the pod outlived the autoscaler");
  const whileDown = { direct: direct.ok(), routed: routed.ok() };
  await waitFor("requests answered while the autoscaler is down", () => {
    return direct.ok() > whileDown.direct + 20 && routed.ok() > whileDown.routed + 20;
  });

  const second = await startProcess(t, "autoscaler/main.ts", { ...env, AUTOSCALER_PORT: String(port) });
  const after = (await state()).revisions[`default/${REVISION}`];
  t.same(after.endpoints, before, "the first snapshot after the restart has the same live endpoint");
  t.same(
    recordedPods(stateDir).map((record) => [record.name, ...podPids([record])]),
    [[pod.name, ...podPids([pod])]],
    "the same pod, no new one",
  );
  const sinceRestart = { direct: direct.ok(), routed: routed.ok() };
  await waitFor("requests answered after the restart", () => {
    return direct.ok() > sinceRestart.direct + 20 && routed.ok() > sinceRestart.routed + 20;
  });

  // The restarted autoscaler scrapes the adopted pod and scales on its load: held requests push
  // concurrency past the target, and it scales up to max-scale.
  const held = Array.from({ length: 6 }, () => request(`${before[0].url}/hold`, { dispatcher }));
  const scaled = await waitFor(
    "scaled up to 3 by the restarted autoscaler",
    async () => {
      const endpoints = (await state()).revisions[`default/${REVISION}`].endpoints as Endpoint[];
      return endpoints.length === 3 ? endpoints : undefined;
    },
    { timeoutMs: 30_000 },
  );
  t.ok(
    scaled.some((endpoint) => endpoint.pod === pod.name),
    "the adopted pod is still one of them",
  );
  await (await request(`${before[0].url}/_release`, { dispatcher })).body.text();
  for (const res of await Promise.all(held)) {
    t.equal(res.statusCode, 200);
    await res.body.text();
  }

  const statuses = { direct: await direct.stop(), routed: await routed.stop() };
  t.same(
    Object.keys(statuses.direct),
    ["200"],
    `no request to the pod failed: ${JSON.stringify(statuses.direct)}`,
  );
  t.same(
    Object.keys(statuses.routed),
    ["200"],
    `no request through the router failed: ${JSON.stringify(statuses.routed)}`,
  );

  // A clean stop (what Ctrl-C of sluice up sends) stops every pod, the adopted one included.
  const pids = podPids(recordedPods(stateDir));
  t.ok(pids.includes(pod.app.pid), "the adopted pod is recorded");
  second.child.kill("SIGTERM");
  t.equal(await second.exited, 0, "stopped cleanly");
  t.notOk(pids.some(isRunning), "every pod process exited");
  t.same(recordedPods(stateDir), [], "and none is recorded any more");
});
