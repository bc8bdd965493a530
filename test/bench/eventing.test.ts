// The eventing bench (bench/eventing.ts): its figures from runs, its options, and one tiny real run
// (Kafka, sluice up with nats-server, a few events per path, a small backlog) that must print its
// tables and write its JSON with every event delivered, counted by id.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import t from "tap";
import type { EventingResult } from "../../bench/eventing.ts";
import { parseSizes } from "../../bench/eventing.ts";
import { type PathRun, summarise, throughputCells } from "../../bench/eventing-figures.ts";
import { skipUnlessKafka } from "../helpers/kafka.ts";
import { skipUnlessNats } from "../helpers/nats.ts";

const EVENTING = fileURLToPath(new URL("../../bench/eventing.ts", import.meta.url));
const MAIN = fileURLToPath(new URL("../../bench/main.ts", import.meta.url));

function run(file: string, args: string[], timeout: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const runOf = (path: PathRun["path"], round: number, unique: number, seconds: number): PathRun => ({
  path,
  round,
  events: 1000,
  unique,
  duplicates: round === 2 ? 3 : 0,
  sendErrors: 0,
  seconds,
  cpuMicros: { eventing: 100_000 * round, nats: 50_000 },
});

t.test("summarise: the median round per path, its range, ×direct, loss and duplicates", async (t) => {
  const rows = summarise([
    runOf("direct", 1, 1000, 1),
    runOf("broker", 1, 1000, 4),
    runOf("direct", 2, 1000, 2),
    runOf("broker", 2, 998, 2),
    runOf("direct", 3, 1000, 0.5),
    runOf("broker", 3, 1000, 5),
  ]);
  t.same(
    rows.map((row) => row.path),
    ["direct", "broker"],
    "paths measured, in order",
  );
  const [direct, broker] = rows;
  t.equal(direct.eventsPerSecond, 1000, "median of 500, 1000, 2000");
  t.same([direct.low, direct.high], [500, 2000]);
  t.equal(broker.eventsPerSecond, 250, "median of 250, 499, 200");
  t.equal(broker.ratioToDirect, 0.25);
  t.equal(broker.lost, 2, "events never answered, over the rounds");
  t.equal(broker.duplicates, 3);
  t.equal(broker.eventingMicrosPerEvent, 200, "the median round's CPU per event");
  t.equal(throughputCells(broker)[0], "POST → broker → trigger → service");
  t.equal(throughputCells(direct)[8], "-", "no eventing CPU on the direct path");
  t.same(summarise([]), []);
});

t.test("parseSizes: defaults, overrides, and a bad size named", async (t) => {
  const sizes = parseSizes(["--events", "50", "--queued", "300"]);
  t.not(sizes, "help");
  if (sizes === "help") return;
  t.equal(sizes.events, 50);
  t.equal(sizes.queued, 300);
  t.equal(sizes.partitions, 8, "a default kept");
  t.equal(parseSizes(["--help"]), "help");
  t.throws(() => parseSizes(["--rounds", "0"]), /--rounds 0: expected a whole number from 1 to 20/);
  t.throws(() => parseSizes(["--events", "many"]), /--events many/);
});

t.test("npm run bench lists the eventing scenario", async (t) => {
  const { code, stdout } = await run(MAIN, ["--help"], 30_000);
  t.equal(code, 0);
  t.match(stdout, /^ {2}eventing\s+events\/s Kafka/m);
});

t.test(
  "a tiny real run: every event delivered on every path, a backlog queued and drained",
  { skip: skipUnlessNats() || skipUnlessKafka(), timeout: 420_000 },
  async (t) => {
    const args = ["--events", "30", "--rounds", "1", "--warmup", "5", "--queued", "300"];
    const { code, stdout, stderr } = await run(
      EVENTING,
      [...args, "--connections", "4", "--partitions", "2"],
      400_000,
    );
    t.equal(code, 0, "exits 0", { stderr, stdout });
    for (const row of ["direct: POST → router → service", "POST → broker → trigger", "Kafka → KafkaSource"])
      t.match(stdout, row, `a row for ${row}`);
    t.match(stdout, /300 queued(\s+\d+){4}\s+300 \(/, "RSS with the backlog in the stream");
    const file = /results: (\S+\.json)/.exec(stdout)?.[1];
    t.ok(file && existsSync(file), "the JSON results");
    if (!file) return;
    t.teardown(() => rmSync(file, { force: true }));
    const result = JSON.parse(readFileSync(file, "utf8")) as EventingResult;
    t.same(
      result.runs.map((r) => [r.path, r.unique, r.sendErrors]),
      [
        ["direct", 30, 0],
        ["broker", 30, 0],
        ["kafka", 30, 0],
      ],
      "each path: 30 distinct ids answered, none refused",
    );
    for (const r of result.runs) t.ok(r.seconds > 0, `${r.path}: ${r.seconds} s`);
    const { backlog } = result;
    t.equal(backlog.streamMessages, 300, "the backlog waited in the Broker's stream");
    t.ok(backlog.held > 0, `deliveries held at the subscriber meanwhile (${backlog.held})`);
    t.ok(backlog.memoryMb.queued.eventing > 0 && backlog.memoryMb.queued.nats > 0, "RSS read");
    const { eventingHeap, eventingLiveHeap } = backlog.memoryMb.queued;
    t.ok(eventingHeap > 0, "and the eventing component's heap, from its /metrics");
    t.ok(eventingLiveHeap > 0, `its live heap after a forced collection (${eventingLiveHeap.toFixed(0)} MB)`);
    t.equal(backlog.delivered, 300, "all drained once the subscriber answered");
    t.equal(backlog.lost, 0);
    t.equal(backlog.streamAfter, 0, "and acknowledged: nothing left in the stream");
    t.comment(
      `duplicates: ${result.runs.map((r) => r.duplicates).join(", ")}; backlog ${backlog.duplicates}`,
    );
  },
);
