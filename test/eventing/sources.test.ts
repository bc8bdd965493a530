// PingSource, GitHubSource and NatsSource in the eventing process, with the real nats-server:
// a seconds-level ping fires on schedule (straight to a sink, and through a Broker and a
// Trigger), a GitHub delivery with a valid signature reaches the sink while a bad signature is
// 401 and a malformed delivery 400 (neither reaches it), and NATS messages on a subject are
// delivered (a CloudEvent as itself, a request answered once delivered).
import { writeFileSync } from "node:fs";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import t from "tap";
import { signBody } from "../../eventing/sources/github-signature.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

const SECRET = "webhook-s3cret";

t.test("ping, GitHub and NATS sources", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const sink = await startRecorder(t);
  const manifests = tempPath(t, "sources.yaml", "sluice-sources-");
  writeFileSync(
    manifests,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: pings }
spec:
  broker: default
  filter: { attributes: { type: dev.knative.sources.ping } }
  subscriber: { uri: "${sink.url}/from-broker" }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: every-second }
spec:
  schedule: "* * * * * *"
  contentType: application/json
  data: '{"message":"tick"}'
  sink: { uri: "${sink.url}/ping" }
  ceOverrides: { extensions: { team: web } }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: to-broker }
spec:
  schedule: "CRON_TZ=Asia/Tokyo * * * * * *"
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
---
apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: { name: repo }
spec:
  ownerAndRepository: octo/hello
  eventTypes: [push]
  accessToken: { secretKeyRef: { name: github, key: accessToken } }
  secretToken: { secretKeyRef: { name: github, key: secretToken } }
  sink: { uri: "${sink.url}/github" }
---
apiVersion: sources.sluice.dev/v1
kind: NatsSource
metadata: { name: orders }
spec:
  subject: orders.>
  queueGroup: sluice
  sink: { uri: "${sink.url}/nats" }
`,
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: manifests,
    env: { EVENTING_WEBHOOK_PORT: "0", SLUICE_SECRET_GITHUB_SECRETTOKEN: SECRET },
  });
  const webhook = `http://127.0.0.1:${eventing.message.webhookPort}/default/repo`;

  await t.test("a PingSource fires every second, straight to its sink", async (t) => {
    const ticks = await waitFor("three ticks", () =>
      sink.at("/ping").length >= 3 ? sink.at("/ping") : undefined,
    );
    const [first, second] = ticks;
    t.match(first.headers, {
      "ce-type": "dev.knative.sources.ping",
      "ce-source": "/apis/v1/namespaces/default/pingsources/every-second",
      "ce-team": "web",
      "content-type": "application/json",
    });
    t.equal(first.body, '{"message":"tick"}');
    const times = [first, second].map((e) => Date.parse(String(e.headers["ce-time"])));
    t.ok(times.every((ms) => ms % 1000 === 0) && times[1] > times[0], "time is each tick's scheduled second");
    t.not(first.id, second.id, "a fresh id per tick");
  });

  await t.test("a PingSource with a Broker sink: through the ingress and a Trigger", async (t) => {
    const [event] = await waitFor("a tick through the Broker", () =>
      sink.at("/from-broker").length > 0 ? sink.at("/from-broker") : undefined,
    );
    t.equal(event.headers["ce-source"], "/apis/v1/namespaces/default/pingsources/to-broker");
  });

  const deliver = (body: string, headers: Record<string, string>) =>
    fetch(webhook, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    }).then(async (res) => ({ status: res.status, text: await res.text() }));
  const push = JSON.stringify({
    ref: "refs/heads/main",
    compare: "https://github.com/octo/hello/compare/a10867b14bb7...000000000000",
    repository: { name: "hello", owner: { login: "octo" } },
    sender: { login: "mona" },
  });

  await t.test("GitHub: a valid signature is delivered, 202", async (t) => {
    const res = await deliver(push, {
      "x-github-event": "push",
      "x-github-delivery": "delivery-1",
      "x-hub-signature-256": signBody(SECRET, Buffer.from(push)),
    });
    t.equal(res.status, 202);
    const [event] = sink.at("/github");
    t.match(event.headers, {
      "ce-id": "delivery-1",
      "ce-type": "dev.knative.source.github.push",
      "ce-source": "https://github.com/octo/hello",
      "ce-subject": "a10867b14bb7...000000000000",
      "ce-owner": "octo",
      "ce-sender": "mona",
    });
    t.equal(event.body, push, "the payload as GitHub sent it");
  });

  await t.test("GitHub: a bad signature is 401, a malformed delivery 400; neither is sent on", async (t) => {
    const before = sink.at("/github").length;
    const forged = await deliver(push, {
      "x-github-event": "push",
      "x-github-delivery": "forged",
      "x-hub-signature-256": signBody("guessed", Buffer.from(push)),
    });
    t.equal(forged.status, 401);
    const unsigned = await deliver(push, { "x-github-event": "push", "x-github-delivery": "unsigned" });
    t.equal(unsigned.status, 401);
    const tampered = await deliver(push.replace("main", "evil"), {
      "x-github-event": "push",
      "x-github-delivery": "tampered",
      "x-hub-signature-256": signBody(SECRET, Buffer.from(push)),
    });
    t.equal(tampered.status, 401, "a body changed after signing");
    const notJson = await deliver("{oops", {
      "x-github-event": "push",
      "x-github-delivery": "bad-json",
      "x-hub-signature-256": signBody(SECRET, Buffer.from("{oops")),
    });
    t.match(notJson, { status: 400, text: /not JSON/ });
    const noEvent = await deliver(push, {
      "x-github-delivery": "no-event",
      "x-hub-signature-256": signBody(SECRET, Buffer.from(push)),
    });
    t.match(noEvent, { status: 400, text: /X-GitHub-Event/ });
    const ping = await deliver(push, {
      "x-github-event": "ping",
      "x-github-delivery": "ping-1",
      "x-hub-signature-256": signBody(SECRET, Buffer.from(push)),
    });
    t.match(ping, { status: 200, text: /ignored/ }, "an event type the source does not list");
    t.equal(sink.at("/github").length, before, "nothing reached the sink");
  });

  await t.test("NATS: every message on the subject is delivered", async (t) => {
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    for (let i = 0; i < 20; i++) nc.publish(`orders.${i % 2 ? "new" : "paid"}`, JSON.stringify({ i }));
    const h = natsHeaders();
    for (const [k, v] of Object.entries({
      "ce-specversion": "1.0",
      "ce-id": "ce-1",
      "ce-source": "/web",
      "ce-type": "order.created",
    }))
      h.set(k, v);
    nc.publish("orders.ce", "{}", { headers: h });
    await waitFor("21 NATS messages delivered", () => sink.at("/nats").length >= 21);
    const received = sink.at("/nats");
    t.equal(received.length, 21);
    t.equal(new Set(received.map((e) => e.id)).size, 21, "distinct ids");
    t.match(received.find((e) => e.body === '{"i":1}')?.headers, {
      "ce-type": "dev.sluice.nats.message",
      "ce-source": "/apis/v1/namespaces/default/natssources/orders#orders.>",
      "ce-subject": "orders.new",
    });
    t.match(received.find((e) => e.id === "ce-1")?.headers, {
      "ce-type": "order.created",
      "ce-source": "/web",
    });
    const reply = await nc.request("orders.request", "ask", { timeout: 5000 });
    t.ok(reply, "a request is answered once the sink took it");
    t.ok(sink.at("/nats").some((e) => e.body === "ask"));
  });

  await t.test("GET /v1/eventing lists the sources and their counts", async (t) => {
    const status = (await (await fetch(`${eventing.adminUrl}/v1/eventing`)).json()) as {
      sources: { kind: string; name: string; sink: string; counts: Record<string, number> }[];
    };
    t.match(
      status.sources.find((s) => s.name === "repo"),
      {
        kind: "GitHubSource",
        counts: { delivered: 1, rejected: 5 },
      },
    );
    t.match(
      status.sources.find((s) => s.name === "to-broker"),
      { sink: "Broker default/default" },
    );
    t.ok((status.sources.find((s) => s.name === "orders")?.counts.delivered ?? 0) >= 22);
  });
});
