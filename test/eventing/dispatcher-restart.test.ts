// Killing the eventing process (ingress and dispatcher) mid-stream loses no event: everything
// the ingress answered 202 for is in JetStream, and what was in flight when the process died is
// redelivered to the restarted one. Delivery is at-least-once: duplicates are counted, reported,
// and bounded by what was in flight.
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

const EVENTS = 300;
const IN_FLIGHT = 20;

t.test("a dispatcher killed mid-stream loses no event", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const subscriber = await startRecorder(t);
  // Until the gate opens the subscriber holds every request: the first process dies with
  // deliveries in flight, unacknowledged.
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  subscriber.on("/sink", async (_event, res) => {
    await gate;
    res.writeHead(200).end();
  });
  const manifests = tempPath(t, "eventing.yaml", "sluice-eventing-");
  writeFileSync(
    manifests,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: sink }
spec:
  broker: default
  subscriber: { uri: "${subscriber.url}/sink" }
  delivery: { retry: 5, backoffDelay: PT0.05S }
`,
  );
  const options = {
    natsUrl: nats.url,
    files: manifests,
    env: {
      EVENTING_MAX_IN_FLIGHT: String(IN_FLIGHT),
      // A delivery of a dead process is redelivered after this: short, so the test is quick.
      EVENTING_ACK_WAIT_SECONDS: "1",
    },
  };
  const first = await startEventing(t, options);
  const broker = `${first.url}/default/default`;
  let accepted = 0;
  for (let i = 0; i < EVENTS; i++) {
    const message = HTTP.binary(
      new CloudEvent({ id: `e-${i}`, source: "/restart", type: "test.stream", data: { i } }),
    );
    const res = await fetch(broker, {
      method: "POST",
      headers: message.headers as Record<string, string>,
      body: String(message.body),
    });
    if (res.status === 202) accepted++;
  }
  t.equal(accepted, EVENTS, "every event stored (202)");
  await waitFor("deliveries in flight", () => subscriber.at("/sink").length >= IN_FLIGHT);
  first.child.kill("SIGKILL");
  await first.exited;
  const beforeRestart = subscriber.ids("/sink").size;
  open();

  await startEventing(t, options);
  await waitFor("every event delivered after the restart", () => subscriber.ids("/sink").size === EVENTS, {
    timeoutMs: 60_000,
  });
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await waitFor("the consumer to settle", async () => {
    const info = await jsm.consumers.info(streamName("default", "default"), "trigger_sink");
    return info.num_pending === 0 && info.num_ack_pending === 0;
  });
  const deliveries = subscriber.at("/sink").length;
  const duplicates = deliveries - EVENTS;
  t.equal(subscriber.ids("/sink").size, EVENTS, "no event lost");
  t.ok(
    duplicates <= IN_FLIGHT,
    `duplicates bounded by the deliveries in flight (${duplicates} ≤ ${IN_FLIGHT})`,
  );
  t.comment(
    `${EVENTS} events, ${beforeRestart} seen before the kill (held, never acknowledged); ${deliveries} deliveries in all: ${duplicates} duplicates`,
  );
});
