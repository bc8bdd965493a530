// A Trigger whose subscriber is a ref to a sluice Service delivers through the router: the first
// event wakes the Service from zero, containerConcurrency holds (1 here: the app never sees two
// deliveries at once), and the Service's reply events go back to the Broker.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CloudEvent, HTTP } from "cloudevents";
import t from "tap";
import type { DataPlaneState } from "../../common/state.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";
import { FAST_AUTOSCALING, revisionOf } from "../helpers/sluice-up.ts";
import { tempDir } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

const EVENTS = 10;

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * `sluice up -f service.yaml` on free ports; its router and autoscaler URLs from the banner. (Not
 * test/helpers/sluice-up.ts: that one also finds each component's pid, which this test does not need.)
 */
async function sluiceUp(t: Teardown, dir: string, service: string) {
  const file = join(dir, "service.yaml");
  writeFileSync(file, service);
  const args = [
    "cli/main.ts",
    "up",
    "--state-dir",
    join(dir, "state"),
    "--router-port",
    "0",
    "--autoscaler-port",
    "0",
    "-f",
    file,
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...FAST_AUTOSCALING, PATH: `${join(process.execPath, "..")}:${process.env.PATH}` },
  });
  const watched = watchChild(t, child);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await watched.exited;
    }
  });
  const banner = await waitFor(
    "the sluice up banner",
    () => {
      if (child.exitCode !== null)
        throw new Error(`sluice up exited ${child.exitCode}:\n${watched.output()}`);
      return watched.output().includes("Ctrl-C stops everything") ? watched.output() : undefined;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );
  const url = (name: string) =>
    new RegExp(`${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(banner)?.[1] as string;
  const autoscalerUrl = url("autoscaler");
  return {
    routerUrl: url("router"),
    state: async () => (await (await fetch(`${autoscalerUrl}/v1/state`)).json()) as DataPlaneState,
  };
}

t.test("events wake a Service at zero through the router", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const recorder = await startRecorder(t);
  const dir = tempDir(t, "sluice-eventing-");
  const sluice = await sluiceUp(
    t,
    dir,
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: echo }
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containerConcurrency: 1
      containers:
        - command: ["node", "test/eventing/reply-app.ts"]
`,
  );
  const revision = await waitFor("the echo revision", async () =>
    revisionOf(await sluice.state(), "echo-00001"),
  );
  t.equal(revision.desiredPods, 0, "at zero before the first event");
  t.equal(revision.endpoints.length, 0);

  const manifests = join(dir, "eventing.yaml");
  writeFileSync(
    manifests,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-echo }
spec:
  broker: default
  filters: [{ exact: { type: ping } }]
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: echo }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: echoed }
spec:
  broker: default
  filters: [{ exact: { type: echoed } }]
  subscriber: { uri: "${recorder.url}/echoed" }
`,
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: manifests,
    env: { SLUICE_ROUTER_URL: sluice.routerUrl },
  });
  const broker = `${eventing.url}/default/default`;
  for (let i = 0; i < EVENTS; i++) {
    const message = HTTP.binary(new CloudEvent({ id: `p-${i}`, source: "/test", type: "ping" }));
    const res = await fetch(broker, {
      method: "POST",
      headers: message.headers as Record<string, string>,
      body: "",
    });
    t.equal(res.status, 202, `p-${i} stored`);
  }
  await waitFor("every reply at the second trigger", () => recorder.ids("/echoed").size === EVENTS, {
    timeoutMs: 60_000,
  });
  const replies = recorder
    .at("/echoed")
    .map((event) => JSON.parse(event.body) as { revision: string; concurrent: number });
  t.ok(
    replies.every((reply) => reply.revision === "echo-00001"),
    "answered by the Service's revision, woken from zero",
  );
  t.equal(Math.max(...replies.map((reply) => reply.concurrent)), 1, "containerConcurrency 1 held");
});
