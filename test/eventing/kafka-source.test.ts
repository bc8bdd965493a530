// KafkaSource with the real Kafka (KRaft) and nats-server: every record reaches the sink once
// (counted by id), a sink answering 500 is retried with the partition's order kept, and offsets
// are committed only after the sink answered 2xx: with the eventing process SIGKILLed
// mid-stream, every committed offset covers only answered records, and after a restart every
// record is answered (none lost); the duplicates are reported.
import { writeFileSync } from "node:fs";
import { Admin, Producer } from "@platformatic/kafka";
import t from "tap";
import { startEventing } from "../helpers/eventing.ts";
import { skipUnlessKafka, startKafka } from "../helpers/kafka.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { tempPath } from "../helpers/temp.ts";
import { startRecorder } from "./event-recorder.ts";

// Kafka takes 15–35 s to start on a loaded machine, and the test restarts the eventing process.
t.setTimeout(300_000);

const ORDERS = 300;
const STREAM = 500;
/** The sink answers this many /stream records, then holds the rest until the process is killed. */
const ANSWERED_BEFORE_KILL = 100;

t.test("KafkaSource", { skip: skipUnlessNats() || skipUnlessKafka() }, async (t) => {
  const [kafka, nats, sink] = await Promise.all([startKafka(t), startNats(t), startRecorder(t)]);
  const admin = new Admin({
    clientId: "test",
    bootstrapBrokers: [kafka.bootstrap],
    retries: 10,
    retryDelay: 500,
  });
  t.teardown(() => admin.close());
  await admin.createTopics({ topics: ["orders", "stream"], partitions: 3, replicas: 1 });
  await admin.createTopics({ topics: ["flaky"], partitions: 1, replicas: 1 });
  const producer = new Producer({
    clientId: "test",
    bootstrapBrokers: [kafka.bootstrap],
    retries: 10,
    retryDelay: 500,
    // A send retried on a loaded machine must not store a record twice: the counts below are exact.
    idempotent: true,
  });
  t.teardown(() => producer.close());
  const produce = (topic: string, count: number) =>
    producer.send({
      messages: Array.from({ length: count }, (_, i) => ({
        topic,
        key: Buffer.from(`key-${i}`),
        value: Buffer.from(JSON.stringify({ i })),
        headers: new Map([[Buffer.from("X-Shop"), Buffer.from("web")]]),
      })),
    });
  await produce("orders", ORDERS);
  await produce("flaky", 5);
  await produce("stream", STREAM);

  // /flaky fails its first three requests. /stream answers ANSWERED_BEFORE_KILL requests and
  // holds every later one unanswered until the first process is dead.
  let flakyFailures = 3;
  sink.on("/flaky", (_event, res) => void res.writeHead(flakyFailures-- > 0 ? 500 : 200).end());
  let killed = false;
  const answered = new Set<string>();
  let streamRequests = 0;
  sink.on("/stream", (event, res) => {
    if (!killed && ++streamRequests > ANSWERED_BEFORE_KILL) return; // held: never answered
    res.writeHead(200).end();
    answered.add(event.id);
  });

  const manifests = tempPath(t, "kafka.yaml", "sluice-kafkasource-");
  const source = (name: string, topic: string, extra = "") => `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: ${name} }
spec:
  bootstrapServers: ["${kafka.bootstrap}"]
  topics: [${topic}]
  consumerGroup: group-${name}
  initialOffset: earliest
  sink: { uri: "${sink.url}/${topic}" }
${extra}---
`;
  writeFileSync(
    manifests,
    source("orders", "orders") +
      source("flaky", "flaky", "  delivery: { retry: 5, backoffPolicy: linear, backoffDelay: PT0.05S }\n") +
      source("stream", "stream"),
  );
  const options = { natsUrl: nats.url, files: manifests };
  const first = await startEventing(t, options);

  await t.test("every record reaches the sink once, as Knative's event", async (t) => {
    await waitFor("every order delivered", () => sink.ids("/orders").size === ORDERS, {
      timeoutMs: 60_000,
    }).catch((error: Error) => {
      const partitions = [0, 1, 2].map(
        (p) => [...sink.ids("/orders")].filter((id) => id.startsWith(`partition:${p}/`)).length,
      );
      throw new Error(
        `${error.message}: delivered per partition ${partitions.join(", ")}\n${first.output()}`,
      );
    });
    t.equal(sink.at("/orders").length, ORDERS, "no record twice");
    const event = sink.at("/orders").find((e) => e.body === '{"i":7}');
    t.match(event?.headers, {
      "ce-specversion": "1.0",
      "ce-type": "dev.knative.kafka.event",
      "ce-source": "/apis/v1/namespaces/default/kafkasources/orders#orders",
      "ce-id": /^partition:\d\/offset:\d+$/,
      "ce-subject": /^partition:\d#\d+$/,
      "ce-key": "key-7",
      "ce-partitionkey": "key-7",
      "ce-kafkaheaderxshop": "web",
    });
  });

  await t.test("a sink answering 500 is retried; the partition's order is kept", async (t) => {
    await waitFor("the flaky records delivered", () => sink.ids("/flaky").size === 5, { timeoutMs: 30_000 });
    t.equal(sink.at("/flaky").length, 5 + 3, "three failed attempts, each retried");
    const order = [...new Set(sink.at("/flaky").map((e) => e.id))];
    t.same(
      order,
      [0, 1, 2, 3, 4].map((o) => `partition:0/offset:${o}`),
      "one record after the other, in offset order",
    );
  });

  await t.test(
    "killed mid-stream: commits cover answered records only; nothing lost after a restart",
    async (t) => {
      await waitFor("the sink holding records", () => streamRequests > ANSWERED_BEFORE_KILL, {
        timeoutMs: 60_000,
      });
      // The answered records are committed (within the 500 ms commit interval) while the held
      // ones are not: the kill then finds both.
      const committedSoFar = async () => {
        const [group] = await admin.listConsumerGroupOffsets({ groups: ["group-stream"] });
        return (group.topics.find((topic) => topic.name === "stream")?.partitions ?? []).reduce(
          (sum, p) => sum + Math.max(0, Number(p.committedOffset)),
          0,
        );
      };
      await waitFor("a commit of answered records", async () => (await committedSoFar()) > 0, {
        timeoutMs: 30_000,
      });
      first.child.kill("SIGKILL");
      await first.exited;
      killed = true;
      const answeredBeforeKill = answered.size;
      const [group] = await admin.listConsumerGroupOffsets({ groups: ["group-stream"] });
      let committedRecords = 0;
      for (const partition of group.topics.find((topic) => topic.name === "stream")?.partitions ?? []) {
        const committed = Number(partition.committedOffset);
        if (committed < 0) continue; // nothing committed on this partition yet
        committedRecords += committed;
        const unanswered = Array.from(
          { length: committed },
          (_, o) => `partition:${partition.partitionIndex}/offset:${o}`,
        ).filter((id) => !answered.has(id));
        t.same(
          unanswered,
          [],
          `partition ${partition.partitionIndex}: offsets below ${committed} were all answered`,
        );
      }
      t.ok(
        committedRecords <= answeredBeforeKill,
        `${committedRecords} committed ≤ ${answeredBeforeKill} answered`,
      );

      const second = await startEventing(t, options);
      await waitFor("every stream record answered", () => answered.size === STREAM, { timeoutMs: 60_000 });
      const deliveries = sink.at("/stream").length;
      const duplicates = deliveries - STREAM;
      t.equal(answered.size, STREAM, "no record lost");
      // A graceful stop commits what was delivered: the group's offsets cover every record.
      second.child.kill("SIGTERM");
      await second.exited;
      const [after] = await admin.listConsumerGroupOffsets({ groups: ["group-stream"] });
      const total = (after.topics.find((topic) => topic.name === "stream")?.partitions ?? []).reduce(
        (sum, p) => sum + Math.max(0, Number(p.committedOffset)),
        0,
      );
      t.equal(total, STREAM, "after SIGTERM, every delivered record is committed");
      t.comment(
        `${STREAM} records; ${answeredBeforeKill} answered before the kill, ${committedRecords} of them committed; ${deliveries} deliveries in all: ${duplicates} duplicates (the held records and those answered but not yet committed)`,
      );
    },
  );
});
