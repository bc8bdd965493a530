// sluice up's Kafka plan for local KafkaSources: a Kafka the user already runs on the address a
// KafkaSource names is used as it is (nothing started, nothing rewritten to another port).
import { createServer } from "node:net";
import t from "tap";
import { listening, planKafka } from "../../cli/up/kafka-server.ts";
import type { SourceManifest } from "../../eventing/resources/source-manifest.ts";

const kafkaSource = (bootstrap: string) =>
  ({
    apiVersion: "sources.knative.dev/v1",
    kind: "KafkaSource",
    metadata: { name: "comments" },
    spec: {
      bootstrapServers: [bootstrap],
      topics: ["comments"],
      sink: { uri: "http://127.0.0.1:1/" },
    },
  }) as unknown as SourceManifest;

t.test("a local address that takes connections is the user's Kafka: used, nothing started", async (t) => {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  t.equal(await listening(address), true);
  const plan = await planKafka(undefined, [kafkaSource(address)], t.testdir());
  t.match(plan, { bootstrap: address, origin: "already running", started: undefined });
});

t.test("nothing listening: not taken for a running Kafka", async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  await new Promise((resolve) => server.close(resolve));
  t.equal(await listening(address), false);
  t.equal(await listening("not-an-address"), false);
});

t.test("--kafka wins; no local KafkaSource, no Kafka", async (t) => {
  t.match(await planKafka("10.0.0.1:9092", [kafkaSource("127.0.0.1:1")], t.testdir()), {
    bootstrap: "10.0.0.1:9092",
    origin: "--kafka",
  });
  t.equal(await planKafka(undefined, [kafkaSource("kafka.example.net:9092")], t.testdir()), undefined);
});
