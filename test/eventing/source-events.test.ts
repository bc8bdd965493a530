// How each source turns what it gets into a CloudEvent, with Knative's attribute names: Kafka
// records (wrapped, or passed on when they already are CloudEvents), ping ticks, GitHub
// deliveries (and their signatures), NATS messages; the sink's overrides and retry waits.
import t from "tap";
import type {
  GitHubSourceRuntime,
  NatsSourceRuntime,
  PingSourceRuntime,
} from "../../eventing/resources/compile-sources.ts";
import { gitHubEvent } from "../../eventing/sources/github-event.ts";
import { signBody, verifySignature } from "../../eventing/sources/github-signature.ts";
import { eventOfRecord, keyOf } from "../../eventing/sources/kafka-record.ts";
import { eventOfNatsMessage } from "../../eventing/sources/nats.ts";
import { pingEvent } from "../../eventing/sources/ping.ts";
import { parsePingSchedule } from "../../eventing/sources/ping-schedule.ts";
import { untilDeliveredDelay, withOverrides } from "../../eventing/sources/sink.ts";

const sink = { url: "http://sink.test/", describe: "http://sink.test/" };
const kafkaSource = { namespace: "shop", name: "orders", keyType: "string" as const };
const record = (headers: [string, string][], value: string | null, key: string | null = "user-1") => ({
  topic: "orders",
  partition: 2,
  offset: 41n,
  timestamp: 1_700_000_000_000n,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]),
});

t.test("a plain Kafka record is wrapped as Knative's KafkaSource does", async (t) => {
  const event = eventOfRecord(
    record(
      [
        ["content-type", "Application/JSON"],
        ["X-Trace_Id", "abc"],
      ],
      '{"n":1}',
    ),
    kafkaSource,
  );
  t.same(event.attributes, {
    specversion: "1.0",
    id: "partition:2/offset:41",
    type: "dev.knative.kafka.event",
    source: "/apis/v1/namespaces/shop/kafkasources/orders#orders",
    subject: "partition:2#41",
    time: "2023-11-14T22:13:20.000Z",
    key: "user-1",
    partitionkey: "user-1",
    datacontenttype: "application/json",
    kafkaheaderxtraceid: "abc",
  });
  t.equal(Buffer.from(event.data ?? []).toString(), '{"n":1}', "the value, byte for byte");
  const bare = eventOfRecord(record([], null, null), kafkaSource);
  t.equal(bare.data, undefined, "a tombstone has no data");
  t.notOk("key" in bare.attributes, "no key, no key extension");
});

t.test("a record that is a CloudEvent (Kafka binding) goes on as that event", async (t) => {
  const binary = eventOfRecord(
    record(
      [
        ["ce_specversion", "1.0"],
        ["ce_id", "order-7"],
        ["ce_source", "/shop"],
        ["ce_type", "order.created"],
        ["ce_comment", "50% off"],
        ["content-type", "text/plain"],
      ],
      "hello",
    ),
    kafkaSource,
  );
  t.same(binary.attributes, {
    specversion: "1.0",
    id: "order-7",
    source: "/shop",
    type: "order.created",
    comment: "50% off",
    datacontenttype: "text/plain",
  });
  t.equal(Buffer.from(binary.data ?? []).toString(), "hello");
  const structured = eventOfRecord(
    record(
      [["content-type", "application/cloudevents+json"]],
      JSON.stringify({ specversion: "1.0", id: "s-1", source: "/s", type: "t", data: { a: 1 } }),
    ),
    kafkaSource,
  );
  t.match(structured.attributes, { id: "s-1", type: "t", datacontenttype: "application/json" });
  const invalid = eventOfRecord(record([["ce_specversion", "1.0"]], "x"), kafkaSource);
  t.equal(invalid.attributes.type, "dev.knative.kafka.event", "an invalid CloudEvent is wrapped instead");
});

t.test("record keys per Knative's key-type label", async (t) => {
  const int = Buffer.alloc(4);
  int.writeInt32BE(-7);
  t.equal(keyOf(int, "int"), "-7");
  t.equal(keyOf(Buffer.from("abc"), "int"), "abc", "not 4 bytes: read as a string");
  const double = Buffer.alloc(8);
  double.writeDoubleBE(1.5);
  t.equal(keyOf(double, "float"), "1.5");
  t.equal(keyOf(Buffer.from([0, 255]), "byte-array"), "AP8=");
  t.equal(keyOf(Buffer.alloc(0), "string"), undefined);
});

t.test("a ping tick", async (t) => {
  const source: PingSourceRuntime = {
    kind: "PingSource",
    namespace: "default",
    name: "heartbeat",
    sink,
    extensions: {},
    schedule: { pattern: "* * * * *", timezone: undefined },
    contentType: "application/json",
    data: Buffer.from('{"hi":1}'),
  };
  const event = pingEvent(source, new Date("2026-01-01T00:01:00Z"), "id-1");
  t.same(event.attributes, {
    specversion: "1.0",
    id: "id-1",
    type: "dev.knative.sources.ping",
    source: "/apis/v1/namespaces/default/pingsources/heartbeat",
    time: "2026-01-01T00:01:00.000Z",
    datacontenttype: "application/json",
  });
});

t.test("ping schedules: Knative's cron, CRON_TZ, time zones, seconds", async (t) => {
  t.same(parsePingSchedule("*/5 * * * *", undefined), { pattern: "*/5 * * * *", timezone: undefined });
  t.same(parsePingSchedule("CRON_TZ=Asia/Tokyo 0 9 * * *", undefined), {
    pattern: "0 9 * * *",
    timezone: "Asia/Tokyo",
  });
  t.match(
    parsePingSchedule("TZ=Asia/Tokyo 0 9 * * *", "Europe/Paris"),
    { timezone: "Europe/Paris" },
    "spec wins",
  );
  t.same(parsePingSchedule("* * * * * *", undefined), { pattern: "* * * * * *", timezone: undefined });
  t.match(parsePingSchedule("@every 1m", undefined), {
    field: "schedule",
    problem: /@every is not supported/,
  });
  t.match(parsePingSchedule("61 * * * *", undefined), { field: "schedule" });
  t.match(parsePingSchedule("* * * * *", "Mars/Olympus"), { field: "timezone" });
});

t.test("GitHub signatures: HMAC-SHA256 of the body, compared in constant time", async (t) => {
  const body = Buffer.from('{"zen":"Keep it logically awesome."}');
  const good = signBody("s3cret", body);
  t.ok(verifySignature("s3cret", body, good));
  t.notOk(verifySignature("other", body, good), "another secret");
  t.notOk(verifySignature("s3cret", Buffer.from(`${body} `), good), "another body");
  t.notOk(verifySignature("s3cret", body, undefined), "no header");
  t.notOk(verifySignature("s3cret", body, good.replace("sha256=", "sha1=")), "another algorithm");
  t.notOk(verifySignature("s3cret", body, `${good.slice(0, -2)}`), "a short digest (no throw)");
});

t.test("GitHub deliveries as Knative's GitHubSource events", async (t) => {
  const source: GitHubSourceRuntime = {
    kind: "GitHubSource",
    namespace: "default",
    name: "repo",
    sink,
    extensions: {},
    ownerAndRepository: "octo/hello",
    eventTypes: new Set(["push", "pull_request"]),
    secretToken: { name: "gh", key: "token" },
  };
  const payload = {
    action: "opened",
    number: 9,
    pull_request: { number: 9 },
    repository: { name: "hello", owner: { login: "octo" } },
    sender: { login: "mona" },
  };
  const body = Buffer.from(JSON.stringify(payload));
  const headers = {
    "x-github-event": "pull_request",
    "x-github-delivery": "d-1",
    "content-type": "application/json",
  };
  const converted = gitHubEvent(source, headers, body);
  t.same("event" in converted && converted.event.attributes, {
    specversion: "1.0",
    id: "d-1",
    type: "dev.knative.source.github.pull_request",
    source: "https://github.com/octo/hello",
    datacontenttype: "application/json",
    subject: "9",
    owner: "octo",
    repository: "hello",
    sender: "mona",
    action: "opened",
  });
  const form = gitHubEvent(
    source,
    { ...headers, "content-type": "application/x-www-form-urlencoded" },
    Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString()),
  );
  t.equal(
    "event" in form && Buffer.from(form.event.data ?? []).toString(),
    JSON.stringify(payload),
    "form payloads too",
  );
  t.match(gitHubEvent(source, { "x-github-delivery": "d" }, body), {
    status: 400,
    problem: /X-GitHub-Event/,
  });
  t.match(gitHubEvent(source, { "x-github-event": "push" }, body), {
    status: 400,
    problem: /X-GitHub-Delivery/,
  });
  t.match(gitHubEvent(source, headers, Buffer.from("{nope")), { status: 400, problem: /not JSON/ });
  t.match(gitHubEvent(source, { ...headers, "x-github-event": "ping" }, body), { ignored: /not one of/ });
});

t.test("NATS messages", async (t) => {
  const source: NatsSourceRuntime = {
    kind: "NatsSource",
    namespace: "default",
    name: "orders",
    sink,
    extensions: {},
    servers: undefined,
    subject: "orders.>",
    queueGroup: undefined,
    delivery: undefined,
  };
  const plain = eventOfNatsMessage(
    source,
    { subject: "orders.new", headers: [["Content-Type", "text/plain"]], data: Buffer.from("x") },
    "u-1",
  );
  t.match(plain.attributes, {
    id: "u-1",
    type: "dev.sluice.nats.message",
    source: "/apis/v1/namespaces/default/natssources/orders#orders.>",
    subject: "orders.new",
    datacontenttype: "text/plain",
  });
  const cloudEvent = eventOfNatsMessage(source, {
    subject: "orders.new",
    headers: [
      ["ce-specversion", "1.0"],
      ["ce-id", "e-9"],
      ["ce-source", "/web"],
      ["ce-type", "order.created"],
      ["ce-note", "caf%C3%A9"],
    ],
    data: Buffer.alloc(0),
  });
  t.same(cloudEvent, {
    attributes: { specversion: "1.0", id: "e-9", source: "/web", type: "order.created", note: "café" },
    data: undefined,
  });
});

t.test("the sink: overrides win, and 'until delivered' waits double up to 30 s", async (t) => {
  const event = { attributes: { id: "1", source: "/s", type: "t", specversion: "1.0" }, data: undefined };
  t.same(withOverrides(event, { team: "a", source: "/over" }).attributes, {
    id: "1",
    source: "/over",
    type: "t",
    specversion: "1.0",
    team: "a",
  });
  t.equal(withOverrides(event, {}), event);
  t.same([1, 2, 3, 8, 20].map(untilDeliveredDelay), [200, 400, 800, 25_600, 30_000]);
});
