// An apply never waits for a slow subscriber (PUT /v1/eventing with the real nats-server):
// Trigger `slow`'s subscriber hangs on an event; applying a PingSource, and then a change to the
// unrelated Trigger `other`, both answer while that delivery is still hanging, and the healthy
// Trigger `healthy` keeps delivering meanwhile. Before, every apply stopped every Trigger and
// waited for the slowest delivery in flight.
import { writeFileSync } from "node:fs";
import t from "tap";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

const trigger = (name: string, type: string, uri: string, extra = "") => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name} }
spec:
  broker: default
  filter: { attributes: { type: ${type} } }
  subscriber: { uri: "${uri}" }
${extra}`;

t.test("an apply does not wait for a hanging delivery", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const subscriber = await startRecorder(t);
  // `slow` hangs until the test ends; `hanging` is true while its request is open (the
  // dispatcher's attempt still in flight).
  let hanging = false;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  t.teardown(() => release());
  subscriber.on("/slow", async (_event, res) => {
    hanging = true;
    res.once("close", () => {
      hanging = false;
    });
    await released;
    if (!res.writableEnded) res.writeHead(202).end();
  });
  const appliedFile = tempPath(t, "applied.yaml", "sluice-apply-no-stall-");
  writeFileSync(
    appliedFile,
    [
      "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: default }\n",
      trigger("slow", "t.slow", `${subscriber.url}/slow`, "  delivery: { timeout: PT60S }\n"),
      trigger("other", "t.other", `${subscriber.url}/other`),
      trigger("healthy", "t.healthy", `${subscriber.url}/healthy`),
    ].join("---\n"),
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: appliedFile,
    env: { EVENTING_APPLIED_FILE: appliedFile, LOG_LEVEL: "info" },
    timeoutMs: 60_000,
  });
  const ingress = `${eventing.url}/default/default`;
  const admin = `${eventing.adminUrl}/v1/eventing`;
  const post = async (id: string, type: string) => {
    const res = await fetch(ingress, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": id, "ce-source": "/test", "ce-type": type },
    });
    t.equal(res.status, 202, `event ${id} accepted`);
  };
  const put = async (yaml: string) => {
    const res = await fetch(`${admin}?file=applied.yaml`, {
      method: "PUT",
      headers: { "content-type": "application/yaml" },
      body: yaml,
    });
    return { status: res.status, body: await res.text(), hangingWhenAnswered: hanging };
  };

  await post("s1", "t.slow");
  await waitFor("the slow subscriber holds its event", () => hanging);

  const ping = await put(`apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: tick }
spec:
  schedule: "* * * * * *"
  data: tick
  sink: { uri: "${subscriber.url}/tick" }
`);
  t.equal(ping.status, 200, ping.body);
  t.ok(ping.hangingWhenAnswered, "adding a PingSource answered while the slow delivery still hangs");

  const changed = await put(trigger("other", "t.other2", `${subscriber.url}/other`));
  t.equal(changed.status, 200, changed.body);
  t.ok(changed.hangingWhenAnswered, "changing another Trigger answered while the slow delivery still hangs");

  await post("h1", "t.healthy");
  await post("o1", "t.other2");
  await waitFor(
    "the healthy and the changed Trigger deliver",
    () => subscriber.ids("/healthy").has("h1") && subscriber.ids("/other").has("o1"),
  );
  t.ok(hanging, "delivered while the slow delivery still hangs");
  t.equal(
    subscriber.at("/slow").length,
    1,
    "the slow Trigger's worker was not restarted (no second attempt)",
  );
  await waitFor("the PingSource ticks", () => subscriber.at("/tick").length >= 1, { timeoutMs: 15_000 });
});
