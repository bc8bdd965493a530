// `sluice up` on a file with a Service, a Broker, Triggers and a SinkBinding, as a user runs it:
// nats-server and the eventing component start with the rest, the banner names the Broker, an
// event posted there wakes the Service at zero (its reply, carrying the K_SINK its pod got, comes
// back through the Broker to a second Trigger), `sluice status` counts it per Trigger, and
// `sluice apply` of a new Trigger takes effect on the running eventing.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CloudEvent, HTTP } from "cloudevents";
import t from "tap";
import type { DataPlaneState } from "../../common/state.ts";
import { startRecorder } from "../eventing/event-recorder.ts";
import { skipUnlessNats } from "../helpers/nats.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";
import { sluice } from "../helpers/sluice-cli.ts";
import { FAST_AUTOSCALING, revisionOf } from "../helpers/sluice-up.ts";
import { tempDir } from "../helpers/temp.ts";

t.test("sluice up runs Eventing beside the Services", { skip: skipUnlessNats() }, async (t) => {
  const recorder = await startRecorder(t);
  const dir = tempDir(t, "sluice-eventing-up-");
  const file = join(dir, "shop.yaml");
  writeFileSync(
    file,
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: answer }
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - command: ["node", "test/cli/eventing-sink-app.ts"]
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-answer }
spec:
  broker: default
  filters: [{ exact: { type: ask } }]
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: answer }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: answers }
spec:
  broker: default
  filters: [{ exact: { type: answered } }]
  subscriber: { uri: "${recorder.url}/answers" }
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: answer-sink }
spec:
  subject: { apiVersion: serving.knative.dev/v1, kind: Service, name: answer }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
  );
  const child = spawn(
    process.execPath,
    [
      "cli/main.ts",
      "up",
      "--state-dir",
      join(dir, "state"),
      "--router-port",
      "0",
      "--autoscaler-port",
      "0",
      "--eventing-port",
      "0",
      "-f",
      file,
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...FAST_AUTOSCALING,
        PATH: `${join(process.execPath, "..")}:${process.env.PATH}`,
      },
    },
  );
  const up = watchChild(t, child);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await up.exited;
    }
  });
  const banner = await waitFor(
    "the sluice up banner",
    () => {
      if (child.exitCode !== null) throw new Error(`sluice up exited ${child.exitCode}:\n${up.output()}`);
      return up.output().includes("Ctrl-C stops everything") ? up.output() : undefined;
    },
    { timeoutMs: 90_000, everyMs: 100 },
  );
  t.comment(banner);
  const autoscalerUrl = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
  const brokerUrl = /broker\s+(http:\/\/127\.0\.0\.1:\d+\/default\/default)\s+\(default\/default\)/.exec(
    banner,
  )?.[1];
  t.ok(brokerUrl, "the banner gives the Broker's address");
  t.match(banner, /^ {2}nats\s+nats:\/\/127\.0\.0\.1:\d+$/m, "and the nats-server sluice up started");
  const state = async () => (await (await fetch(`${autoscalerUrl}/v1/state`)).json()) as DataPlaneState;
  t.equal(revisionOf(await state(), "answer-00001")?.desiredPods, 0, "the Service is at zero");

  const post = async (id: string, type: string) => {
    const message = HTTP.binary(new CloudEvent({ id, source: "/test", type, data: { q: id } }));
    const res = await fetch(brokerUrl as string, {
      method: "POST",
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    return res.status;
  };
  t.equal(await post("q-1", "ask"), 202, "the Broker stores the event");
  const [answer] = await waitFor(
    "the Service's reply, through the Broker",
    () => {
      const got = recorder.at("/answers");
      return got.length > 0 ? got : undefined;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );
  t.equal(
    answer.id,
    "answer-q-1",
    "the Service woke from zero and answered; its reply went back to the Broker",
  );
  t.same(
    JSON.parse(answer.body),
    { kSink: brokerUrl, kSinkRouter: null },
    "the SinkBinding gave the Service's pod K_SINK: the Broker's address",
  );

  // sluice status: the services, then each Trigger's counts (read until the dispatcher has settled).
  const status = await waitFor(
    "trigger counts in sluice status",
    async () => {
      const result = await sluice(["status", "--autoscaler", autoscalerUrl]);
      return /^answers\s+default\s+\S+\s+1\s+1\s+0\s+0$/m.test(result.stdout) ? result : undefined;
    },
    { timeoutMs: 30_000, everyMs: 250 },
  );
  t.equal(status.code, 0);
  t.match(status.stdout, /TRIGGER\s+BROKER\s+SUBSCRIBER\s+ACCEPTED\s+DELIVERED\s+RETRIED\s+DEAD-LETTERED/);
  t.match(
    status.stdout,
    /^to-answer\s+default\s+Service default\/answer\s+1\s+1\s+0\s+0$/m,
    "to-answer: accepted and delivered 1",
  );
  t.match(status.stdout, new RegExp(`^broker default: ${brokerUrl}$`, "m"));
  const json = JSON.parse((await sluice(["status", "--autoscaler", autoscalerUrl, "--json"])).stdout);
  t.equal(json.eventing.triggers.length, 2, "--json carries the eventing status");

  // sluice apply: a new Trigger on the running Broker, found through the autoscaler's component report.
  const more = join(dir, "more.yaml");
  writeFileSync(
    more,
    `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: audit }
spec:
  broker: default
  filters: [{ exact: { type: audit } }]
  subscriber: { uri: "${recorder.url}/audit" }
`,
  );
  const applied = await sluice(["apply", "-f", more, "--autoscaler", autoscalerUrl]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /^Trigger default\/audit: created$/m);
  t.equal(await post("a-1", "audit"), 202);
  await waitFor(
    "the applied Trigger's delivery",
    () => (recorder.ids("/audit").has("a-1") ? true : undefined),
    {
      timeoutMs: 30_000,
      everyMs: 100,
    },
  );
  t.pass("the Trigger applied to the running sluice delivers");

  // A Trigger on a Broker that does not run: refused here, with its position, nothing sent.
  writeFileSync(
    more,
    `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: lost }
spec:
  broker: nowhere
  subscriber: { uri: "${recorder.url}/lost" }
`,
  );
  const refused = await sluice(["apply", "-f", more, "--autoscaler", autoscalerUrl]);
  t.equal(refused.code, 2, "invalid: exit 2");
  t.match(
    refused.stderr,
    new RegExp(`${more}:5:11: spec\\.broker: no Broker "nowhere" in namespace "default"`),
  );
});
