// A redelivery after the dispatcher died is not a failed attempt: with `retry: 0` an event that
// was in flight when the process was killed reaches its subscriber again after the restart, and
// does not go to the dead-letter sink (nor stay stuck unacknowledged when there is none).
import { writeFileSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import t from "tap";
import { streamName } from "../../eventing/store/names.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

t.test(
  "retry 0: an event in flight at a crash is delivered after the restart",
  { skip: skipUnlessNats() },
  async (t) => {
    const nats = await startNats(t);
    const subscriber = await startRecorder(t);
    // The first process dies while both subscribers hold the event; afterwards they answer 200.
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const held = async (_event: unknown, res: { writeHead(code: number): { end(): void } }) => {
      await gate;
      res.writeHead(200).end();
    };
    subscriber.on("/plain", held);
    subscriber.on("/with-sink", held);
    const manifests = tempPath(t, "eventing.yaml", "sluice-eventing-");
    writeFileSync(
      manifests,
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: plain }
spec:
  broker: default
  subscriber: { uri: "${subscriber.url}/plain" }
  delivery: { retry: 0 }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: with-sink }
spec:
  broker: default
  subscriber: { uri: "${subscriber.url}/with-sink" }
  delivery: { retry: 0, deadLetterSink: { uri: "${subscriber.url}/dead" } }
`,
    );
    const options = { natsUrl: nats.url, files: manifests, env: { EVENTING_ACK_WAIT_SECONDS: "1" } };
    const first = await startEventing(t, options);
    const res = await fetch(`${first.url}/default/default`, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": "in-flight", "ce-source": "/crash", "ce-type": "t" },
    });
    t.equal(res.status, 202);
    await waitFor(
      "both deliveries in flight",
      () => subscriber.at("/plain").length === 1 && subscriber.at("/with-sink").length === 1,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    open();

    await startEventing(t, options);
    await waitFor(
      "both delivered again after the restart",
      () => subscriber.at("/plain").length === 2 && subscriber.at("/with-sink").length === 2,
      { timeoutMs: 30_000 },
    );
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    for (const name of ["plain", "with-sink"])
      await waitFor(`${name} to settle`, async () => {
        const info = await jsm.consumers.info(streamName("default", "default"), `trigger_${name}`);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      });
    t.equal(subscriber.at("/dead").length, 0, "nothing dead-lettered");
  },
);
