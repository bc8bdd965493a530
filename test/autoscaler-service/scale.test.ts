import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { request } from "undici";
import type { DataPlaneState } from "../../common/state.ts";
import type { StatusSnapshot } from "../../common/status.ts";
import { ROOT, startProcess, waitFor } from "../helpers/processes.ts";

const SERVICE = (env: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/window: "6s"
        autoscaling.knative.dev/initial-scale: "0"
        autoscaling.knative.dev/target-burst-capacity: "0"
        autoscaling.knative.dev/max-scale: "4"
        autoscaling.knative.dev/target: "10"
    spec:
      containerConcurrency: 0
      containers:
        - command: ["${process.execPath}", "${ROOT}test/fixtures/app.ts"]
          env:
            - name: VERSION
              value: "${env}"
`;

async function startAutoscaler(
  t: { teardown(fn: () => unknown): void },
  stateDir: string,
  env: Record<string, string> = {},
) {
  const proc = await startProcess(t, "autoscaler/main.ts", {
    ...env,
    AUTOSCALER_PORT: "0",
    SLUICE_STATE_DIR: stateDir,
    AUTOSCALER_TICK_SECONDS: "0.25",
    SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
  });
  const url = `http://127.0.0.1:${proc.message.port}`;
  const state = async () => (await (await request(`${url}/v1/state`)).body.json()) as DataPlaneState;
  return { proc, url, state };
}

async function put(url: string, body: string) {
  const res = await request(`${url}/v1/services?file=hello.yaml`, {
    method: "PUT",
    body,
    headers: { "content-type": "application/yaml" },
  });
  return { status: res.statusCode, text: await res.body.text() };
}

t.test("load drives a revision 0 → N → 0, history survives a restart", async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-autoscaler-"));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const autoscaler = await startAutoscaler(t, stateDir);

  const applied = await put(autoscaler.url, SERVICE("v1"));
  t.equal(applied.status, 200, applied.text);
  t.match(JSON.parse(applied.text), {
    applied: [{ service: "hello", revision: "hello-00001", created: true }],
  });

  let state = await autoscaler.state();
  t.match(state.services["default/hello"], {
    hosts: ["hello.default.example.com", "hello.default", "hello"],
    traffic: [{ revision: "hello-00001", percent: 100 }],
  });
  t.match(
    state.revisions["default/hello-00001"],
    { desiredPods: 0, endpoints: [], mode: "proxy" },
    "initial-scale 0: nothing runs",
  );

  // The activator's poke for a request at zero: a pod starts at once.
  const poke = await request(`${autoscaler.url}/v1/stats`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      activator: "test",
      revisions: [
        {
          namespace: "default",
          revision: "hello-00001",
          averageConcurrency: 1,
          requestCount: 1,
          windowSeconds: 1,
          poke: true,
        },
      ],
    }),
  });
  t.equal(poke.statusCode, 200);
  await poke.body.text();
  state = await waitFor("a ready endpoint", async () => {
    const s = await autoscaler.state();
    return s.revisions["default/hello-00001"].endpoints.length > 0 ? s : undefined;
  });
  const pod = state.revisions["default/hello-00001"].endpoints[0].url;

  // 40 requests held in one pod: concurrency 40 against a target of 10 × 70 % = 7 → 6 pods.
  const held = Array.from({ length: 40 }, () => request(`${pod}/hold`));
  state = await waitFor(
    "scale-out to several ready pods",
    async () => {
      const s = await autoscaler.state();
      const r = s.revisions["default/hello-00001"];
      return r.desiredPods === 4 && r.endpoints.length === 4 ? s : undefined;
    },
    { timeoutMs: 30_000 },
  );
  // The wait saw 4 desired and 4 ready; what it did not check: why 4, and that they are 4 pods.
  const status = (await (await request(`${autoscaler.url}/v1/status`)).body.json()) as StatusSnapshot;
  const observed = status.services[0].revisions[0].concurrency;
  t.ok(
    Math.abs(observed.current - 40) < 0.5,
    `the autoscaler sees the 40 held requests (${JSON.stringify(observed)}): 40 / (10 × 70 %) = 6 pods, capped by max-scale 4`,
  );
  const endpoints = state.revisions["default/hello-00001"].endpoints;
  t.equal(new Set(endpoints.map((e) => e.pod)).size, 4, "four different pods");
  t.equal(new Set(endpoints.map((e) => e.url)).size, 4, "at four different addresses");
  t.equal(new Set(endpoints.map((e) => e.socket)).size, 4, "each with its own socket (local pods)");
  t.ok(
    endpoints.every((e) => e.socket?.endsWith("/queue-proxy.sock")),
    "the router and activator get the queue-proxies' sockets",
  );
  t.equal(
    state.revisions["default/hello-00001"].mode,
    "serve",
    "enough capacity: the router may go straight to pods",
  );

  const released = Promise.all(held);
  let done = false;
  void released.then(() => (done = true));
  while (!done) {
    await request(`${pod}/_release`).then((res) => res.body.text());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.same(
    new Set((await released).map((res) => res.statusCode)),
    new Set([200]),
    "all 40 held requests succeeded",
  );

  state = await waitFor(
    "scale back to zero",
    async () => {
      const s = await autoscaler.state();
      const r = s.revisions["default/hello-00001"];
      return r.desiredPods === 0 && r.endpoints.length === 0 ? s : undefined;
    },
    { timeoutMs: 40_000 },
  );
  t.equal(state.revisions["default/hello-00001"].mode, "proxy", "at zero the activator is in the path");

  const metrics = await (await request(`${autoscaler.url}/metrics`)).body.text();
  t.match(
    metrics,
    /sluice_autoscaler_desired_pods\{service="hello",namespace="default",revision="hello-00001"\} 0/,
  );

  // A bad file changes nothing.
  const bad = await put(
    autoscaler.url,
    SERVICE("v2").replace("containerConcurrency: 0", "containerConcurrency: 0\n      colour: blue"),
  );
  t.equal(bad.status, 400);
  t.match(bad.text, /hello\.yaml:\d+:\d+: spec\.template\.spec\.colour: unknown field/);
  t.match(bad.text, /nothing was changed/);
  t.same(Object.keys((await autoscaler.state()).revisions), ["default/hello-00001"]);

  // Restart: the history is still there and numbering continues.
  autoscaler.proc.child.kill("SIGTERM");
  t.equal(await autoscaler.proc.exited, 0, "stops cleanly");
  const again = await startAutoscaler(t, stateDir, { REVISION_RETENTION_SECONDS: "1" });
  const services = (await (await request(`${again.url}/v1/services`)).body.json()) as {
    services: { revisions: string[] }[];
  };
  t.same(services.services[0].revisions, ["hello-00001"]);
  const second = await put(again.url, SERVICE("v2"));
  t.match(JSON.parse(second.text), { applied: [{ revision: "hello-00002", created: true }] });
  const unchanged = await put(again.url, SERVICE("v2"));
  t.match(
    JSON.parse(unchanged.text),
    { applied: [{ revision: "hello-00002", created: false }] },
    "same template, same revision",
  );

  // hello-00001 no longer gets traffic: after the retention window it is garbage-collected.
  await waitFor("hello-00001 collected", async () => !(await again.state()).revisions["default/hello-00001"]);
  const after = (await (await request(`${again.url}/v1/services`)).body.json()) as {
    services: { revisions: string[] }[];
  };
  t.same(after.services[0].revisions, ["hello-00002"], "gone from the history too");
});
