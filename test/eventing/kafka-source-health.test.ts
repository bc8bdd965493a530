// A KafkaSource that cannot consume says so (real Kafka with topic auto-creation off, real
// nats-server): on a missing topic GET /v1/eventing shows it failing, naming the topic, since
// when; once the topic is created it is running and delivers. Before, it only logged.
import { writeFileSync } from "node:fs";
import { Admin, Producer } from "@platformatic/kafka";
import t from "tap";
import { formatEventing } from "../../cli/eventing-status.ts";
import type { EventingStatus } from "../../eventing/status.ts";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessKafka, startKafka } from "../helpers/kafka.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

t.setTimeout(300_000);

interface SourceStatus {
  kind: string;
  name: string;
  status?: { state: string; reason?: string; since: string };
}

t.test("a KafkaSource on a missing topic", { skip: skipUnlessNats() || skipUnlessKafka() }, async (t) => {
  const [kafka, nats, sink] = await Promise.all([
    startKafka(t, { autoCreateTopics: false }),
    startNats(t),
    startRecorder(t),
  ]);
  const file = tempPath(t, "kafka.yaml", "sluice-kafka-health-");
  writeFileSync(
    file,
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: late }
spec:
  bootstrapServers: ["${kafka.bootstrap}"]
  topics: [late-topic]
  consumerGroup: group-late
  initialOffset: earliest
  sink: { uri: "${sink.url}/late" }
`,
  );
  const eventing = await startEventing(t, {
    natsUrl: nats.url,
    files: file,
    env: { EVENTING_WEBHOOK_PORT: "0", LOG_LEVEL: "info" },
    timeoutMs: 60_000,
  });
  const admin = `${eventing.adminUrl}/v1/eventing`;
  const status = async () =>
    (await (await fetch(admin)).json()) as EventingStatus & { sources: SourceStatus[] };
  const late = async () => (await status()).sources.find((s) => s.name === "late")?.status;

  const failing = await waitFor(
    "the source shows failing",
    async () => {
      const s = await late();
      return s?.state === "failing" ? s : undefined;
    },
    { timeoutMs: 60_000, everyMs: 250 },
  );
  t.match(failing.reason, /late-topic/, `the reason names the topic: ${failing.reason}`);
  t.ok(Number.isFinite(Date.parse(failing.since)), "since when");
  const printed = formatEventing((await status()) as Parameters<typeof formatEventing>[0]);
  t.match(printed, /^late: failing since .*late-topic/m, `sluice status prints it:\n${printed}`);

  const client = { clientId: "test", bootstrapBrokers: [kafka.bootstrap], retries: 10, retryDelay: 500 };
  const kafkaAdmin = new Admin(client);
  t.teardown(() => kafkaAdmin.close());
  await kafkaAdmin.createTopics({ topics: ["late-topic"], partitions: 1, replicas: 1 });
  const producer = new Producer(client);
  t.teardown(() => producer.close());
  await producer.send({ messages: [{ topic: "late-topic", value: Buffer.from("hello") }] });

  await waitFor("running once the topic exists", async () => (await late())?.state === "running", {
    timeoutMs: 90_000,
    everyMs: 250,
  });
  await waitFor("and delivers", () => sink.at("/late").length >= 1, { timeoutMs: 60_000 });
  t.equal(sink.at("/late")[0].body, "hello");
  t.notMatch(
    formatEventing((await status()) as Parameters<typeof formatEventing>[0]),
    /failing/,
    "sluice status no longer says failing",
  );
});
