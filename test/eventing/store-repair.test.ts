// A Broker recovers when JetStream loses its stream (real nats-server): the stream is deleted
// with the JetStream API, and its subject taken by another stream so that recreating it fails
// for a while. Meanwhile the ingress answers 503 naming the missing stream (not "jetstream is not
// enabled") and /readyz is not ready; once the subject is free again the stream and the
// Trigger's consumer are recreated, /readyz is ready, and events posted are accepted and delivered.
// And nats-server restarted on its port with an empty store: the Broker takes events again.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import t from "tap";
import { freePort } from "../../common/free-port.ts";
import { streamName, subjectOf } from "../../eventing/store/names.ts";
import { startEventing } from "../helpers/eventing.ts";
import { natsServerPath, skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempDir } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

t.test("a lost stream is recreated", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const subscriber = await startRecorder(t);
  const dir = tempDir(t, "sluice-store-repair-");
  const file = join(dir, "eventing.yaml");
  writeFileSync(
    file,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all }
spec: { broker: default, subscriber: { uri: "${subscriber.url}/all" } }
`,
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: file,
    env: { LOG_LEVEL: "info" },
    timeoutMs: 60_000,
  });
  const ingress = `${eventing.url}/default/default`;
  const readyz = `${eventing.adminUrl}/readyz`;
  const post = async (id: string) => {
    const res = await fetch(ingress, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": id, "ce-source": "/test", "ce-type": "t" },
    });
    return { status: res.status, body: await res.text() };
  };
  const ready = async () => (await fetch(readyz)).status;
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);

  t.equal((await post("before")).status, 202);
  await waitFor("delivered before", () => subscriber.ids("/all").has("before"), { timeoutMs: 30_000 });
  t.equal(await ready(), 200);

  await jsm.streams.delete(streamName("default", "default"));
  // Another stream holds the Broker's subject: recreating the Broker's stream fails until it goes.
  await jsm.streams.add({ name: "SQUATTER", subjects: [subjectOf("default", "default")] });
  const refused = await post("while-missing");
  t.equal(refused.status, 503, refused.body);
  t.match(
    refused.body,
    /stream for broker default\/default missing; recreating/,
    "the 503 names the real reason",
  );
  t.notMatch(refused.body, /jetstream is not enabled/);
  await waitFor("not ready while the stream is missing", async () => (await ready()) === 503, {
    timeoutMs: 30_000,
  });
  const again = await post("still-missing");
  t.equal(again.status, 503, "still refused while it cannot be recreated");

  await jsm.streams.delete("SQUATTER");
  await waitFor("ready again once recreated", async () => (await ready()) === 200, { timeoutMs: 40_000 });
  const accepted = await post("after");
  t.equal(accepted.status, 202, accepted.body);
  await waitFor("the event posted after recreation is delivered", () => subscriber.ids("/all").has("after"), {
    timeoutMs: 20_000,
  });
  t.notOk(subscriber.ids("/all").has("while-missing"), "a refused event was never stored");
});

t.test("nats-server restarted without its store", { skip: skipUnlessNats() }, async (t) => {
  const subscriber = await startRecorder(t);
  const dir = tempDir(t, "sluice-store-restart-");
  const port = await freePort();
  /** nats-server on `port` with the store in `store`; stopped at the end. */
  const natsWith = async (store: string) => {
    const child = spawn(
      natsServerPath(),
      ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, store)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    };
    t.teardown(stop);
    await waitFor("nats-server ready", () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${output}`);
      return output.includes("Server is ready");
    });
    return stop;
  };
  const stopFirst = await natsWith("first");
  const file = join(dir, "eventing.yaml");
  writeFileSync(
    file,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all }
spec: { broker: default, subscriber: { uri: "${subscriber.url}/all" } }
`,
  );
  const eventing = await startEventing(t, {
    natsUrl: `nats://127.0.0.1:${port}`,
    files: file,
    env: { LOG_LEVEL: "info" },
    timeoutMs: 60_000,
  });
  const ingress = `${eventing.url}/default/default`;
  const post = async (id: string) =>
    (
      await fetch(ingress, {
        method: "POST",
        headers: { "ce-specversion": "1.0", "ce-id": id, "ce-source": "/test", "ce-type": "t" },
      })
    ).status;
  t.equal(await post("before"), 202);
  await waitFor("delivered before", () => subscriber.ids("/all").has("before"), { timeoutMs: 30_000 });

  await stopFirst();
  await natsWith("second"); // the same port, an empty store: no stream, no consumer
  let attempt = 0;
  const accepted = await waitFor(
    "an event accepted again",
    async () => {
      const id = `after-${++attempt}`;
      return (await post(id)) === 202 ? id : undefined;
    },
    { timeoutMs: 40_000, everyMs: 250 },
  );
  await waitFor("and delivered", () => subscriber.ids("/all").has(accepted), { timeoutMs: 20_000 });
  t.pass(`accepted after ${attempt} attempts and delivered`);
});
