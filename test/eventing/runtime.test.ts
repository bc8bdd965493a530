// Changing the served set at run time (what `sluice apply` will do): a new Trigger starts
// receiving, a removed one stops and its consumer is deleted, a new Broker's stream exists
// before anything can publish to it. In-process, against the real nats-server.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import t from "tap";
import { Agent } from "undici";
import { createLogger } from "../../common/log.ts";
import { TriggerDispatcher } from "../../eventing/dispatcher/dispatcher.ts";
import { EventingMetrics } from "../../eventing/metrics.ts";
import { compileEventing } from "../../eventing/resources/compile.ts";
import { loadEventingManifests } from "../../eventing/resources/load.ts";
import { EventingRuntime } from "../../eventing/runtime.ts";
import { BrokerStore } from "../../eventing/store/broker-store.ts";
import { streamName } from "../../eventing/store/names.ts";
import { skipUnlessNats, startNats } from "../helpers/nats.ts";
import { waitFor } from "../helpers/processes.ts";
import { startRecorder } from "./event-recorder.ts";

const broker = (name: string) => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name} }
`;
const trigger = (name: string, on: string, uri: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name} }
spec: { broker: ${on}, subscriber: { uri: "${uri}" } }
`;

t.test("applying a new set at run time", { skip: skipUnlessNats() }, async (t) => {
  const nats = await startNats(t);
  const recorder = await startRecorder(t);
  const nc = await connect({ servers: nats.url });
  const agent = new Agent();
  const log = createLogger("eventing-test", "silent");
  const store = await BrokerStore.open(nc, {
    maxAgeMs: 60_000,
    maxEventBytes: 4096,
    ackWaitMs: 5000,
    maxInFlight: 10,
  });
  const dispatcher = new TriggerDispatcher({
    store,
    agent,
    defaultTimeoutMs: 5000,
    ackWaitMs: 5000,
    maxInFlight: 10,
    maxEventBytes: 4096,
    metrics: new EventingMetrics(new Registry()),
    log,
  });
  const runtime = new EventingRuntime(store, dispatcher, log);
  t.teardown(async () => {
    await dispatcher.stop();
    await nc.close();
    await agent.close();
  });
  const setOf = (...docs: string[]) => {
    const loaded = loadEventingManifests(docs.join("---\n"), "set.yaml");
    t.same(loaded.problems, []);
    return compileEventing(
      loaded.brokers.map((b) => b.manifest),
      loaded.triggers.map((t) => t.manifest),
      { routerUrl: "http://127.0.0.1:1", domain: "example.com" },
    );
  };
  const event = (id: string) => ({
    attributes: { specversion: "1.0", id, source: "/t", type: "x" },
    data: undefined,
  });
  const jsm = await jetstreamManager(nc);
  const consumers = async (b: string) => {
    const names: string[] = [];
    for await (const info of jsm.consumers.list(streamName("default", b))) names.push(info.name);
    return names.sort();
  };

  await runtime.apply(setOf(broker("one"), trigger("a", "one", `${recorder.url}/a`)));
  t.same([...runtime.set.brokers.keys()], ["default/one"]);
  await store.publish("default", "one", event("1"));
  await waitFor("event 1 at a", () => recorder.ids("/a").has("1"));

  await runtime.apply(
    setOf(
      broker("one"),
      broker("two"),
      trigger("b", "one", `${recorder.url}/b`),
      trigger("c", "two", `${recorder.url}/c`),
    ),
  );
  t.same([...runtime.set.brokers.keys()], ["default/one", "default/two"]);
  t.same(await consumers("one"), ["trigger_b"], "the removed Trigger's consumer is gone");
  t.same(await consumers("two"), ["trigger_c"]);
  await store.publish("default", "one", event("2"));
  await store.publish("default", "two", event("3"));
  await waitFor("event 2 at b and 3 at c", () => recorder.ids("/b").has("2") && recorder.ids("/c").has("3"));
  t.same([...recorder.ids("/a")], ["1"], "the removed Trigger got nothing more");

  await runtime.apply(setOf(broker("two"), trigger("c", "two", `${recorder.url}/c`)));
  t.same([...runtime.set.brokers.keys()], ["default/two"], "the ingress no longer serves Broker one");
  t.same(await consumers("one"), [], "a removed Broker's Triggers lose their consumers; its stream stays");
});
