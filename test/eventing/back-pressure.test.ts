// Broker ingress back-pressure with the real nats-server: when the store cannot take an event
// the producer hears 503 with Retry-After (seconds) and why, and nothing of that event is stored
// — with the server stopped mid-run (and started again: 202 again), and with JetStream full.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { CloudEvent, HTTP } from "cloudevents";
import t from "tap";
import { freePort } from "../../common/free-port.ts";
import { streamName } from "../../eventing/store/names.ts";
import { startEventing } from "../helpers/eventing.ts";
import { natsServerPath, skipUnlessNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { refusedPort } from "../helpers/refused-port.ts";
import { tempDir } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

const skip = skipUnlessNats();

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** nats-server on a port of the test's choosing (so a restart is found again), from a config file. */
async function natsAt(t: Teardown, config: string, dir: string): Promise<ChildProcess> {
  const file = join(dir, `nats-${Date.now()}.conf`);
  writeFileSync(file, config);
  const child = spawn(natsServerPath(), ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  await waitFor(
    "nats-server ready",
    () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${output}`);
      return output.includes("Server is ready");
    },
    { timeoutMs: 15_000 },
  );
  return child;
}

function eventingYaml(subscriber: string, delivery = ""): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: bp }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all, namespace: bp }
spec:
  broker: default
  subscriber: { uri: "${subscriber}" }
${delivery}`;
}

async function post(broker: string, id: string, data: unknown) {
  const message = HTTP.binary(new CloudEvent({ id, source: "/bp", type: "bp.test", data }));
  const res = await fetch(broker, {
    method: "POST",
    headers: message.headers as Record<string, string>,
    body: String(message.body ?? ""),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text() };
}

t.test(
  "nats-server stopped mid-run: 503 with Retry-After, nothing stored, then 202 again",
  { skip },
  async (t) => {
    const dir = tempDir(t, "sluice-backpressure-");
    const port = await freePort();
    const config = `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, "store")}" }\n`;
    let nats = await natsAt(t, config, dir);
    const subscriber = await startRecorder(t);
    const manifests = join(dir, "eventing.yaml");
    writeFileSync(manifests, eventingYaml(`${subscriber.url}/all`));
    const eventing = await startEventing(t, {
      natsUrl: `nats://127.0.0.1:${port}`,
      files: manifests,
      timeoutMs: 60_000,
    });
    const broker = `${eventing.url}/bp/default`;

    t.match(await post(broker, "before", { n: 1 }), { status: 202 }, "stored while NATS runs");
    await waitFor("the first event delivered", () => subscriber.ids("/all").has("before"));

    nats.kill("SIGTERM");
    await new Promise((resolve) => nats.once("exit", resolve));
    // The eventing process notices the closed connection: from then on it refuses at once. A probe
    // sent before it noticed waits for its PubAck and is a 503 too, "did not acknowledge it in
    // time" (on a busy machine); that one may still be stored on reconnect (docs/eventing.md).
    let probes = 0;
    const refused = await waitFor(
      "a 503 'unavailable' while NATS is down",
      async () => {
        const answer = await post(broker, `probe-${probes++}`, { n: 2 });
        if (answer.status !== 503) throw new Error(`answered ${answer.status}: ${answer.text}`);
        return answer.text.includes("unavailable") ? answer : undefined;
      },
      { timeoutMs: 30_000 },
    );
    t.match(
      refused.text,
      /^the event was not stored: NATS at 127\.0\.0\.1:\d+ is unavailable \(reconnecting\); retry after 2 s/,
    );
    t.equal(refused.retryAfter, "2", "Retry-After in seconds");
    const refusedIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = `refused-${i}`;
      const answer = await post(broker, id, { n: 3 });
      t.equal(answer.status, 503, `${id} refused while NATS is down`);
      refusedIds.push(id);
    }
    // Not a 400 or 413: the event itself is fine.
    t.match(
      await post(broker, "x", "y".repeat(100)),
      { status: 503 },
      "a valid event is a 503, whatever its size",
    );

    nats = await natsAt(t, config, dir);
    const after = await waitFor(
      "202 once NATS is back",
      async () => {
        const answer = await post(broker, "after", { n: 4 });
        return answer.status === 202 ? answer : undefined;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
    t.equal(after.status, 202);
    await waitFor("the event after the restart delivered", () => subscriber.ids("/all").has("after"), {
      timeoutMs: 15_000,
    });

    // Nothing refused at once was kept by the client and sent on reconnect: the stream holds the
    // events answered 202 and at most the probes that timed out, and no refused one reached the
    // subscriber.
    const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(streamName("bp", "default"));
    const delivered = [...subscriber.ids("/all")];
    const storedProbes = delivered.filter((id) => id.startsWith("probe-")).length;
    t.comment(
      `${probes} probe(s) until the disconnect was noticed; ${storedProbes} of them stored after all`,
    );
    t.equal(
      info.state.last_seq,
      2 + storedProbes,
      "stored: the two events answered 202 (and timed-out probes)",
    );
    t.same(
      delivered.filter((id) => !id.startsWith("probe-")).sort(),
      ["after", "before"],
      "none of the events refused at once was delivered",
    );
  },
);

t.test("JetStream full: 503 with Retry-After, what was refused is not stored", { skip }, async (t) => {
  const dir = tempDir(t, "sluice-backpressure-");
  const port = await freePort();
  await natsAt(
    t,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, "store")}", max_file_store: 1MB, max_memory_store: 1MB }\n`,
    dir,
  );
  const manifests = join(dir, "eventing.yaml");
  // A subscriber that is never there, retried an hour apart: every event stays in the stream.
  const closed = await refusedPort(t);
  writeFileSync(
    manifests,
    eventingYaml(
      `http://127.0.0.1:${closed}/nowhere`,
      "  delivery: { retry: 100, backoffPolicy: linear, backoffDelay: PT1H }\n",
    ),
  );
  const eventing = await startEventing(t, {
    natsUrl: `nats://127.0.0.1:${port}`,
    files: manifests,
    timeoutMs: 60_000,
  });
  const broker = `${eventing.url}/bp/default`;
  const data = "z".repeat(100_000);
  let stored = 0;
  let refused: Awaited<ReturnType<typeof post>> | undefined;
  for (let i = 0; i < 40 && !refused; i++) {
    const answer = await post(broker, `big-${i}`, data);
    if (answer.status === 202) stored++;
    else refused = answer;
  }
  t.ok(stored > 0, `${stored} events stored before the store filled`);
  t.match(refused, { status: 503, retryAfter: "10" }, "then 503 with Retry-After");
  t.match(refused?.text, /^the event was not stored: JetStream's storage is full/);
  const again = await post(broker, "one-more", data);
  t.match(again, { status: 503, retryAfter: "10" }, "and again for the next");
  const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streamName("bp", "default"));
  t.equal(info.state.messages, stored, "the stream holds exactly the events answered 202");
  t.equal(info.state.last_seq, stored, "and none was half-stored");
});
