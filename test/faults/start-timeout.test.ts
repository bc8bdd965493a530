// A revision whose app never becomes ready is not stuck at zero pods: each pod that times out
// while starting is replaced, three in a row spend the failure budget, and the revision reports
// why — in /v1/state, and as a 503 with the reason to a request held in the activator.
import t from "tap";
import { request } from "undici";
import type { DataPlaneState } from "../../common/state.ts";
import { fixtureService, startActivator } from "../helpers/data-plane.ts";
import { tempStateDir } from "../helpers/platform.ts";
import { startProcess } from "../helpers/processes.ts";
import { startRouter } from "../helpers/router.ts";

t.test("pods that never become ready are replaced, then the revision fails with the reason", async (t) => {
  const autoscaler = await startProcess(t, "autoscaler/main.ts", {
    AUTOSCALER_PORT: "0",
    SLUICE_STATE_DIR: tempStateDir(t, "sluice-start-timeout-"),
    AUTOSCALER_TICK_SECONDS: "0.25",
    POD_START_TIMEOUT_SECONDS: "1",
  });
  const url = `http://127.0.0.1:${autoscaler.message.port}`;
  const state = async () => (await (await request(`${url}/v1/state`)).body.json()) as DataPlaneState;
  const command = `"${process.execPath}", "-e", "console.log('warming up forever'); setInterval(() => {}, 1000)"`;
  const applied = await request(`${url}/v1/services`, {
    method: "PUT",
    headers: { "content-type": "application/yaml" },
    body: fixtureService("silent", { command, timeoutSeconds: 60 }),
  });
  t.equal(applied.statusCode, 200, `applied: ${await applied.body.text()}`);
  const activator = await startActivator(t, url);
  const router = await startRouter(t, url, { ACTIVATOR_URL: activator.url });

  // The first request pokes the revision up from zero and waits in the activator.
  const res = await request(router.url, { headers: { host: "silent.default.example.com" } });
  const body = await res.body.text();
  t.equal(res.statusCode, 503, "answered, not held forever");
  t.match(body, /cannot become ready: not ready within 1s/);
  t.match(body, /warming up forever/, "with the app's last output");

  const revision = (await state()).revisions["default/silent-00001"];
  t.match(revision.failure?.reason, /not ready within 1s/, "the published state says why");
  t.ok(revision.desiredPods >= 1, "still wanted: it is the failure that reports it, not a silent zero");
  // Each pod said its line once: three pods were tried, and none after the budget was spent.
  const logs = await (await request(`${url}/v1/logs?service=silent`)).body.text();
  const pods = new Set(logs.match(/^\[[^\]]+\]/gm));
  t.equal(pods.size, 3, "three pods tried", { logs });
});
