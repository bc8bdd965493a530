// KafkaSource's client choice, measured: @platformatic/kafka against kafkajs on the same topic,
// each consuming in its own process the way the source does (partitions in parallel, one record
// at a time per partition, the offset committed after the sink's 2xx), with and without a tiny
// HTTP sink. Figures per client: records/s, CPU µs per record, peak RSS. Not part of
// `npm run bench` (it needs Kafka and Java): run it by hand,
//   node bench/kafka-clients.ts [records=20000]
// docs/eventing.md ("Choosing the Kafka client") has the figures and the choice.
import { fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { freePorts } from "../common/free-port.ts";

type Client = "platformatic" | "kafkajs";
interface Result {
  client: Client;
  sink: boolean;
  records: number;
  seconds: number;
  cpuMicros: number;
  maxRssMb: number;
}

const PARTITIONS = 3;

if (process.argv[2] === "--child") await child(JSON.parse(process.argv[3]));
else await parent(Number(process.argv[2] ?? 20_000));

async function parent(records: number): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  const kafka = await startKafka(teardowns);
  const { Admin, Producer } = await import("@platformatic/kafka");
  let received = 0;
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(202, { "content-length": "0" }).end();
    });
  });
  sink.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/`;
  try {
    const admin = new Admin({ clientId: "bench", bootstrapBrokers: [kafka.bootstrap] });
    await admin.createTopics({ topics: ["bench"], partitions: PARTITIONS, replicas: 1 });
    await admin.close();
    const producer = new Producer({ clientId: "bench", bootstrapBrokers: [kafka.bootstrap] });
    const value = Buffer.from(JSON.stringify({ comment: "x".repeat(80) }));
    for (let i = 0; i < records; i += 1000) {
      const messages = [];
      for (let j = i; j < Math.min(i + 1000, records); j++)
        messages.push({ topic: "bench", key: Buffer.from(`k${j}`), value });
      await producer.send({ messages });
    }
    await producer.close();
    const results: Result[] = [];
    // Two rounds, clients interleaved, so a noisy neighbour hurts both alike.
    let group = 0;
    for (const round of [1, 2])
      for (const sinkOn of [false, true])
        for (const client of ["platformatic", "kafkajs"] as Client[]) {
          const before = received;
          const result = await runChild({
            client,
            bootstrap: kafka.bootstrap,
            group: `bench-${group++}`,
            sinkUrl: sinkOn ? sinkUrl : undefined,
            records,
          });
          if (sinkOn && received - before < records) throw new Error(`${client}: the sink missed records`);
          results.push(result);
          process.stderr.write(`round ${round}: ${line(result)}\n`);
        }
    console.log("client        sink  records/s  CPU µs/record  peak RSS MB (best of 2 rounds)");
    for (const sinkOn of [false, true])
      for (const client of ["platformatic", "kafkajs"] as Client[]) {
        const mine = results.filter((r) => r.client === client && r.sink === sinkOn);
        const rate = Math.max(...mine.map((r) => r.records / r.seconds));
        const cpu = Math.min(...mine.map((r) => r.cpuMicros / r.records));
        // RSS: the larger of the two rounds.
        const rss = Math.max(...mine.map((r) => r.maxRssMb));
        console.log(
          `${client.padEnd(13)} ${sinkOn ? "yes " : "no  "}  ${rate.toFixed(0).padStart(9)}  ${cpu.toFixed(0).padStart(13)}  ${rss.toFixed(0).padStart(11)}`,
        );
      }
  } finally {
    sink.close();
    for (const fn of teardowns.reverse()) await fn();
  }
}

/** scripts/tools/kafka-start.sh on free ports (test/helpers/kafka.ts does the same, but brings tap). */
async function startKafka(teardowns: (() => unknown)[]): Promise<{ bootstrap: string }> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-kafka-bench-"));
  const [port, controllerPort] = await freePorts(2);
  const script = new URL("../scripts/tools/kafka-start.sh", import.meta.url).pathname;
  const proc = spawn(script, [dir, String(port), String(controllerPort)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  teardowns.push(async () => {
    proc.kill("SIGTERM");
    await new Promise((resolve) => proc.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes("Kafka Server started")) resolve();
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`Kafka exited with ${code}:\n${output}`)));
  });
  return { bootstrap: `127.0.0.1:${port}` };
}

function line(r: Result): string {
  return `${r.client} sink=${r.sink}: ${(r.records / r.seconds).toFixed(0)} records/s, ${(r.cpuMicros / r.records).toFixed(0)} µs CPU/record, ${r.maxRssMb.toFixed(0)} MB`;
}

interface ChildSpec {
  client: Client;
  bootstrap: string;
  group: string;
  sinkUrl: string | undefined;
  records: number;
}

function runChild(spec: ChildSpec): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = fork(new URL(import.meta.url).pathname, ["--child", JSON.stringify(spec)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    // Only our message: a client library may use the IPC channel too.
    proc.on("message", (m: Partial<Result>) => m.client === spec.client && resolve(m as Result));
    proc.once("exit", (code) => code !== 0 && reject(new Error(`${spec.client} exited with ${code}`)));
  });
}

async function child(spec: ChildSpec): Promise<void> {
  const agent = new Agent({ connections: PARTITIONS * 2 });
  const deliver = async (value: Buffer | null) => {
    if (!spec.sinkUrl) return;
    const res = await request(spec.sinkUrl, {
      method: "POST",
      body: value ?? "",
      headers: { "ce-specversion": "1.0", "ce-id": "x", "ce-source": "/b", "ce-type": "t" },
      dispatcher: agent,
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`sink answered ${res.statusCode}`);
  };
  let seen = 0;
  let startCpu: NodeJS.CpuUsage | undefined;
  let startAt = 0;
  let count = () => {};
  const done = new Promise<void>((resolve) => {
    count = () => {
      if (seen === 0) {
        startCpu = process.cpuUsage();
        startAt = performance.now();
      }
      if (++seen === spec.records) resolve();
    };
  });
  let stop: () => Promise<void>;
  // Each child loads its own client only, so peak RSS is that client's.
  if (spec.client === "platformatic") {
    const { Consumer } = await import("@platformatic/kafka");
    const consumer = new Consumer({
      groupId: spec.group,
      clientId: "bench",
      bootstrapBrokers: [spec.bootstrap],
      retries: 20, // a fresh broker has no group coordinator for a while
      retryDelay: 500,
    });
    const stream = await consumer.consume({ topics: ["bench"], mode: "earliest", autocommit: false });
    // As the source does: one chain per partition, at most 1000 records held (the stream paused
    // beyond), and the last delivered offset of each partition committed every 200 ms.
    const chains = new Map<number, Promise<void>>();
    const delivered = new Map<number, { commit: () => unknown }>();
    let held = 0;
    stream.on("data", (message) => {
      if (++held >= 1000) stream.pause();
      const previous = chains.get(message.partition) ?? Promise.resolve();
      chains.set(
        message.partition,
        previous.then(async () => {
          await deliver(message.value);
          delivered.set(message.partition, message);
          if (--held < 500 && stream.isPaused()) stream.resume();
          count();
        }),
      );
    });
    const committer = setInterval(() => {
      for (const message of delivered.values()) void message.commit();
      delivered.clear();
    }, 200);
    stop = async () => {
      clearInterval(committer);
      await stream.close();
      await consumer.close(true);
    };
  } else {
    const { Kafka, logLevel } = await import("kafkajs");
    const kafka = new Kafka({ clientId: "bench", brokers: [spec.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: spec.group });
    await consumer.connect();
    await consumer.subscribe({ topics: ["bench"], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachMessage: async ({ message }) => {
        await deliver(message.value);
        count(); // kafkajs commits resolved offsets after each batch (autoCommit)
      },
    });
    stop = () => consumer.disconnect();
  }
  await done;
  const cpu = process.cpuUsage(startCpu);
  const seconds = (performance.now() - startAt) / 1000;
  const result: Result = {
    client: spec.client,
    sink: spec.sinkUrl !== undefined,
    records: spec.records,
    seconds,
    cpuMicros: cpu.user + cpu.system,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.send?.(result);
  await stop();
  await agent.close();
  process.exit(0);
}
