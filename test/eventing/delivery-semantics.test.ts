// Delivery semantics of Broker → Trigger with the real nats-server, as Knative has them: a reply
// that keeps its event's source and id is still published; only 5xx, 404, 408, 409 and 429 are
// retried; a 2xx reply that says it is a CloudEvent but is not one fails the delivery, a 2xx body
// that is no CloudEvent is discarded whatever its size; the ingress refuses a spent hop budget
// and the budget stops a reply loop; a few events in back-off do not hold up the healthy ones.
import { writeFileSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import t from "tap";
import { streamName } from "../../eventing/store/names.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { type Received, startRecorder } from "./event-recorder.ts";

const skip = skipUnlessNats();

const trigger = (name: string, type: string, path: string, delivery = "") => `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: demo }
spec:
  broker: default
  filter: { attributes: { type: ${type} } }
  subscriber: { uri: "${path}" }
${delivery}`;

t.test("delivery semantics", { skip }, async (t) => {
  const nats = await startNats(t);
  const subscriber = await startRecorder(t);
  const url = subscriber.url;
  const dls = `  delivery:
    retry: 2
    backoffPolicy: linear
    backoffDelay: PT0.05S
    deadLetterSink: { uri: "${url}/dead" }
`;
  const manifests = tempPath(t, "eventing.yaml", "sluice-eventing-");
  writeFileSync(
    manifests,
    [
      "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: default, namespace: demo }\n",
      trigger("appender", "test.append", `${url}/append`),
      trigger("appended", "test.appended", `${url}/appended`),
      trigger("looper", "test.loop", `${url}/loop`),
      trigger("status", "test.status", `${url}/status`, dls),
      trigger("bad-reply", "test.badreply", `${url}/badreply`, dls),
      trigger("big-plain", "test.bigplain", `${url}/bigplain`, dls),
      trigger(
        "slow",
        "test.slow",
        `${url}/slow`,
        "  delivery: { retry: 1, backoffPolicy: linear, backoffDelay: PT10M }\n",
      ),
    ].join(""),
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: manifests,
    env: { EVENTING_MAX_EVENT_BYTES: "2048", EVENTING_MAX_IN_FLIGHT: "2" },
  });
  const broker = `${eventing.url}/demo/default`;
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const stream = streamName("demo", "default");
  const settled = (name: string) =>
    waitFor(`trigger ${name} to settle`, async () => {
      const info = await jsm.consumers.info(stream, `trigger_${name}`);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
  const post = (id: string, type: string, extra: Record<string, string> = {}, body = "") =>
    fetch(broker, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": id, "ce-source": "/semantics", "ce-type": type, ...extra },
      body,
    }).then(async (res) => ({ status: res.status, text: await res.text() }));
  const counts = async (name: string) => {
    const status = (await fetch(`${eventing.adminUrl}/v1/eventing`).then((r) => r.json())) as {
      triggers: { name: string; counts: Record<string, number> }[];
    };
    return status.triggers.find((tr) => tr.name === name)?.counts ?? {};
  };
  const deadFor = (id: string) => subscriber.at("/dead").filter((e) => e.id === id);
  const echo = (event: Received, type: string, id = event.id, extra: Record<string, string> = {}) => ({
    "ce-specversion": "1.0",
    "ce-id": id,
    "ce-source": String(event.headers["ce-source"]),
    "ce-type": type,
    ...extra,
  });

  await t.test("a reply that keeps the event's source and id is published", async (t) => {
    // Knative's appender sample: the event cloned, only its type changed.
    subscriber.on("/append", (event, res) => void res.writeHead(200, echo(event, "test.appended")).end("x"));
    t.equal((await post("same-1", "test.append")).status, 202);
    const appended = await waitFor("the reply at its trigger", () => subscriber.at("/appended")[0]);
    t.equal(appended.id, "same-1");
    t.equal(appended.headers["ce-source"], "/semantics");
    t.equal(appended.body, "x");
  });

  await t.test("the ingress refuses a spent hop budget", async (t) => {
    const before = (await jsm.streams.info(stream)).state.last_seq;
    const zero = await post("ttl-0", "test.unrouted", { "ce-knativebrokerttl": "0" });
    t.equal(zero.status, 400);
    t.match(zero.text, /knativebrokerttl/);
    t.equal((await post("ttl-x", "test.unrouted", { "ce-knativebrokerttl": "many" })).status, 400);
    t.equal((await jsm.streams.info(stream)).state.last_seq, before, "nothing stored");
  });

  await t.test("a subscriber replying to its own trigger stops at the hop budget", async (t) => {
    let n = 0;
    subscriber.on(
      "/loop",
      (event, res) => void res.writeHead(200, echo(event, "test.loop", `loop-${++n}`)).end(),
    );
    t.equal((await post("loop-0", "test.loop", { "ce-knativebrokerttl": "5" })).status, 202);
    await waitFor("the loop to reach its budget", () => subscriber.at("/loop").length >= 5);
    await settled("looper");
    t.equal(subscriber.at("/loop").length, 5, "the event and 4 replies; the 5th reply is dropped");
  });

  await t.test("only 5xx, 404, 408, 409 and 429 are retried", async (t) => {
    subscriber.on(
      "/status",
      (event, res) => void res.writeHead(Number(event.body)).end(`said ${event.body}`),
    );
    for (const code of [400, 403, 404, 409, 429, 503])
      t.equal((await post(`status-${code}`, "test.status", {}, String(code))).status, 202);
    for (const code of [400, 403, 404, 409, 429, 503]) {
      const id = `status-${code}`;
      const dead = await waitFor(`${id} dead-lettered`, () => deadFor(id)[0]);
      t.equal(dead.headers["ce-knativeerrorcode"], String(code));
      const attempts = subscriber.at("/status").filter((e) => e.id === id).length;
      t.equal(attempts, code === 400 || code === 403 ? 1 : 3, `${code}: ${attempts} attempts`);
    }
    await settled("status");
  });

  await t.test("a 2xx reply with ce- headers that is no valid CloudEvent fails the delivery", async (t) => {
    subscriber.on(
      "/badreply",
      (_event, res) => void res.writeHead(200, { "ce-specversion": "1.0", "ce-type": "no.id" }).end(),
    );
    t.equal((await post("bad-reply-1", "test.badreply")).status, 202);
    const dead = await waitFor("the dead letter", () => deadFor("bad-reply-1")[0]);
    t.equal(dead.headers["ce-knativeerrorcode"], "200");
    t.match(Buffer.from(String(dead.headers["ce-knativeerrordata"]), "base64").toString(), /id/);
    await settled("bad-reply");
    t.notOk((await counts("bad-reply")).delivered, "not counted delivered");
  });

  await t.test("a 2xx body that is no CloudEvent is discarded, whatever its size", async (t) => {
    subscriber.on(
      "/bigplain",
      (_event, res) => void res.writeHead(200, { "content-type": "text/plain" }).end("y".repeat(100_000)),
    );
    t.equal((await post("big-plain-1", "test.bigplain")).status, 202);
    await waitFor("delivered", async () => (await counts("big-plain")).delivered === 1);
    await settled("big-plain");
    t.equal(subscriber.at("/bigplain").length, 1, "one attempt");
    t.equal(deadFor("big-plain-1").length, 0, "not dead-lettered");
  });

  await t.test("events in back-off do not hold up the others (max in flight 2)", async (t) => {
    subscriber.on("/slow", (event, res) => void res.writeHead(event.id.startsWith("fail") ? 500 : 200).end());
    t.equal((await post("fail-1", "test.slow")).status, 202);
    t.equal((await post("fail-2", "test.slow")).status, 202);
    await waitFor("both failed once", async () => (await counts("slow")).retried === 2);
    t.equal((await post("healthy-1", "test.slow")).status, 202);
    await waitFor("the healthy event delivered", () => subscriber.ids("/slow").has("healthy-1"), {
      timeoutMs: 30_000,
    });
    const fails = subscriber.at("/slow").filter((e) => e.id.startsWith("fail"));
    t.equal(fails.length, 2, "the failing events are still in their 10-minute back-off");
    const info = await jsm.consumers.info(stream, "trigger_slow");
    t.equal(info.num_ack_pending, 2, "only the two in back-off are pending");
  });

  await t.test("failure records survive JetStream losing their stream (made again)", async (t) => {
    await jsm.streams.delete("sluice-delivery-failures");
    t.equal((await post("status-lost", "test.status", {}, "500")).status, 202);
    const dead = await waitFor("dead-lettered", () => deadFor("status-lost")[0]);
    t.equal(dead.headers["ce-knativeerrorcode"], "500");
    t.equal(subscriber.at("/status").filter((e) => e.id === "status-lost").length, 3, "3 attempts");
  });
});
