// A source's sink: only failures a retry may cure are retried (Knative's rule: no answer, 5xx,
// 404, 408, 409, 429); a 400 gives up at once, to the dead-letter sink or dropped, even with no
// delivery policy (where a KafkaSource would otherwise hold its partition on that record).
import { Registry } from "prom-client";
import t from "tap";
import { Agent } from "undici";
import { createLogger } from "../../common/log.ts";
import type { DeliveryPolicy } from "../../eventing/resources/compile.ts";
import { deliverToSink, type SinkSource } from "../../eventing/sources/sink.ts";
import { SourceMetrics } from "../../eventing/sources/source-metrics.ts";
import { startRecorder } from "./event-recorder.ts";

t.test("a source's sink retries only what a retry may cure", async (t) => {
  const subscriber = await startRecorder(t);
  subscriber.on("/sink", (event, res) => void res.writeHead(Number(event.body)).end("no"));
  const agent = new Agent();
  t.teardown(() => agent.close());
  const options = {
    agent,
    timeoutMs: 5000,
    metrics: new SourceMetrics(new Registry()),
    log: createLogger("test", "silent"),
  };
  const target = (path: string) => ({ url: `${subscriber.url}${path}`, describe: path });
  const source: SinkSource = {
    kind: "KafkaSource",
    namespace: "t",
    name: "s",
    sink: target("/sink"),
    extensions: {},
  };
  const policy: DeliveryPolicy = {
    retry: 2,
    backoffPolicy: "linear",
    backoffDelayMs: 10,
    timeoutMs: undefined,
    deadLetterSink: target("/dead"),
  };
  const event = (id: string, status: number) => ({
    attributes: { specversion: "1.0", id, source: "/t", type: "t" },
    data: Buffer.from(String(status)),
  });
  const attempts = (id: string) => subscriber.at("/sink").filter((e) => e.id === id).length;

  t.equal(await deliverToSink(source, event("no-policy-400", 400), undefined, options), "dropped");
  t.equal(attempts("no-policy-400"), 1, "no policy: a 400 is not retried, the source moves on");

  t.equal(await deliverToSink(source, event("policy-400", 400), policy, options), "dead_lettered");
  t.equal(attempts("policy-400"), 1, "a 400 goes straight to the dead-letter sink");
  t.equal(subscriber.at("/dead")[0]?.headers["ce-knativeerrorcode"], "400");

  t.equal(await deliverToSink(source, event("policy-429", 429), policy, options), "dead_lettered");
  t.equal(attempts("policy-429"), 3, "a 429 is retried per the policy");

  t.equal(
    await deliverToSink(source, event("policy-500", 500), { ...policy, deadLetterSink: undefined }, options),
    "dropped",
  );
  t.equal(attempts("policy-500"), 3, "a 500 is retried per the policy, then dropped");
});
