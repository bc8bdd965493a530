// Broker → Trigger → subscriber with the real nats-server: what the ingress refuses is never
// stored, a matching event is delivered once, a failing subscriber is retried per the Trigger's
// policy and then dead-lettered, and a reply goes back to the Broker and on to a second Trigger.
import { writeFileSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { CloudEvent, HTTP } from "cloudevents";
import t from "tap";
import { streamName } from "../../eventing/store/names.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

const skip = skipUnlessNats();

t.test("broker and triggers on JetStream", { skip }, async (t) => {
  const nats = await startNats(t);
  const subscriber = await startRecorder(t);
  const manifests = tempPath(t, "eventing.yaml", "sluice-eventing-");
  writeFileSync(
    manifests,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: demo
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ok, namespace: demo }
spec:
  broker: default
  filter:
    attributes:
      type: test.ok
  subscriber:
    uri: ${subscriber.url}/ok
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: failing, namespace: demo }
spec:
  broker: default
  filters:
    - exact: { type: test.fail }
  subscriber:
    uri: ${subscriber.url}/fail
  delivery:
    retry: 2
    backoffPolicy: linear
    backoffDelay: PT0.05S
    deadLetterSink:
      uri: ${subscriber.url}/dead
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: replier, namespace: demo }
spec:
  broker: default
  filters:
    - prefix: { type: test.reply }
  subscriber:
    uri: ${subscriber.url}/reply
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: second, namespace: demo }
spec:
  broker: default
  filters:
    - all:
        - exact: { type: reply.type }
        - not: { suffix: { source: /elsewhere } }
  subscriber:
    uri: ${subscriber.url}/second
`,
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: manifests,
    env: { EVENTING_MAX_EVENT_BYTES: "2048" },
  });
  const broker = `${eventing.url}/demo/default`;
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const lastSeq = async () => (await jsm.streams.info(streamName("demo", "default"))).state.last_seq;
  const post = (headers: Record<string, string>, body: string) =>
    fetch(broker, { method: "POST", headers, body }).then(async (res) => ({
      status: res.status,
      text: await res.text(),
    }));
  const binary = (event: CloudEvent<unknown>) => {
    const message = HTTP.binary(event);
    return post(message.headers as Record<string, string>, String(message.body ?? ""));
  };

  await t.test("what the ingress refuses is not stored", async (t) => {
    const before = await lastSeq();
    const noId = await post({ "ce-specversion": "1.0", "ce-source": "/t", "ce-type": "test.ok" }, "{}");
    t.equal(noId.status, 400);
    t.match(noId.text, /required attribute id is missing/);
    const badJson = await post({ "content-type": "application/cloudevents+json" }, "{not json");
    t.equal(badJson.status, 400);
    t.match(badJson.text, /not JSON/);
    const oldSpec = await post(
      { "ce-specversion": "0.3", "ce-id": "1", "ce-source": "/t", "ce-type": "x" },
      "",
    );
    t.match(oldSpec, { status: 400, text: /specversion "0.3" is not supported/ });
    const badTime = await post(
      { "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/t", "ce-type": "x", "ce-time": "yesterday" },
      "",
    );
    t.match(badTime, { status: 400, text: /time/ });
    const plain = await post({ "content-type": "text/plain" }, "hello");
    t.match(plain, { status: 400, text: /not a CloudEvent/ });
    const big = await post(
      { "ce-specversion": "1.0", "ce-id": "big", "ce-source": "/t", "ce-type": "test.ok" },
      "x".repeat(4096),
    );
    t.match(big, { status: 413, text: /at most 2048 bytes/ });
    const unknown = await fetch(`${eventing.url}/demo/nope`, { method: "POST" });
    t.equal(unknown.status, 404);
    t.equal(await lastSeq(), before, "nothing was stored");
  });

  await t.test("an event reaches its trigger's subscriber once", async (t) => {
    const ids = Array.from({ length: 20 }, (_, i) => `ok-${i}`);
    for (const [i, id] of ids.entries()) {
      // Both modes: even ids binary, odd ids structured.
      const event = new CloudEvent({ id, source: "/test", type: "test.ok", data: { i } });
      const res =
        i % 2 === 0
          ? await binary(event)
          : await post({ "content-type": "application/cloudevents+json" }, JSON.stringify(event));
      t.equal(res.status, 202, `${id} accepted`);
    }
    await waitFor("every event delivered", () => subscriber.ids("/ok").size === ids.length);
    // Settled: nothing pending or unacknowledged on the consumer, so no later redelivery.
    await waitFor("the consumer to settle", async () => {
      const info = await jsm.consumers.info(streamName("demo", "default"), "trigger_ok");
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    t.equal(subscriber.at("/ok").length, ids.length, "each delivered exactly once");
    const first = subscriber.at("/ok").find((e) => e.id === "ok-1");
    t.equal(
      first?.headers["content-type"],
      "application/json",
      "structured data arrives as JSON in binary mode",
    );
    t.same(JSON.parse(first?.body ?? "null"), { i: 1 });
    t.notOk(first?.headers["ce-knativebrokerttl"], "the broker's hop budget is not shown to subscribers");
    t.equal(
      subscriber.at("/fail").length + subscriber.at("/second").length,
      0,
      "other triggers filtered them out",
    );
  });

  await t.test("a failing subscriber: retried per policy, then dead-lettered", async (t) => {
    subscriber.on("/fail", (_event, res) => void res.writeHead(500).end("broken"));
    const res = await binary(new CloudEvent({ id: "fail-1", source: "/test", type: "test.fail" }));
    t.equal(res.status, 202);
    const dead = await waitFor("the dead letter", () => subscriber.at("/dead")[0]);
    t.equal(subscriber.at("/fail").length, 3, "the first attempt and 2 retries");
    t.equal(dead.id, "fail-1");
    t.equal(dead.headers["ce-knativeerrorcode"], "500");
    t.equal(dead.headers["ce-knativeerrordest"], `${subscriber.url}/fail`);
    t.equal(Buffer.from(String(dead.headers["ce-knativeerrordata"]), "base64").toString(), "broken");
  });

  await t.test("a reply goes back to the broker and on to a second trigger", async (t) => {
    subscriber.on("/reply", (event, res) => {
      const reply = HTTP.binary(
        new CloudEvent({
          id: `reply-${event.id}`,
          source: "/replier",
          type: "reply.type",
          data: { to: event.id },
        }),
      );
      res.writeHead(200, reply.headers as Record<string, string>).end(String(reply.body));
    });
    t.equal(
      (await binary(new CloudEvent({ id: "r-1", source: "/test", type: "test.reply.one" }))).status,
      202,
    );
    const second = await waitFor("the reply at the second trigger", () => subscriber.at("/second")[0]);
    t.equal(second.id, "reply-r-1");
    t.same(JSON.parse(second.body), { to: "r-1" });
    const status = await fetch(`${eventing.adminUrl}/v1/eventing`).then((r) => r.json());
    t.match(status, {
      brokers: [{ namespace: "demo", name: "default", address: { url: broker } }],
      triggers: [
        { name: "ok", counts: { delivered: 20 } },
        { name: "failing", counts: { retried: 2, deadLettered: 1 } },
        { name: "replier", counts: { delivered: 1, replies: 1 } },
        { name: "second", counts: { delivered: 1 } },
      ],
    });
  });
});
