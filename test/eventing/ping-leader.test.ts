// A PingSource on a replica that does not hold the sources' Lease sends no tick: the runner asks
// at every tick (`mayTick`, SourceRunners.followLeader in Kubernetes mode), so a replica that has
// just lost the Lease is silent at once, before the next apply stops its sources, and the next
// leader's ticks are never sent twice. A real runner, a real sink on 127.0.0.1.
import { Registry } from "prom-client";
import t from "tap";
import { Agent } from "undici";
import { createLogger } from "../../common/log.ts";
import { compileSources, type PingSourceRuntime } from "../../eventing/resources/compile-sources.ts";
import type { SourceManifest } from "../../eventing/resources/source-manifest.ts";
import { PingSourceRunner } from "../../eventing/sources/ping.ts";
import { SourceMetrics } from "../../eventing/sources/source-metrics.ts";
import { waitFor } from "../helpers/processes.ts";
import { startRecorder } from "./event-recorder.ts";

t.test("a PingSource ticks only while its replica leads", async (t) => {
  const sink = await startRecorder(t);
  const agent = new Agent();
  t.teardown(() => agent.close());
  const log = createLogger("test", "silent");
  const manifest = {
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: { name: "tick", namespace: "default" },
    spec: { schedule: "* * * * * *", sink: { uri: `${sink.url}/ping` } },
  } as SourceManifest;
  const [source] = compileSources([manifest], {
    routerUrl: "http://127.0.0.1:9",
    domain: "example.com",
    brokerIngressUrl: "http://127.0.0.1:9",
  }) as PingSourceRuntime[];
  let leading = false;
  let asked = 0;
  const runner = new PingSourceRunner(source, {
    sink: { agent, timeoutMs: 10_000, metrics: new SourceMetrics(new Registry()), log },
    log,
    mayTick: () => {
      asked++;
      return leading;
    },
  });
  runner.start();
  t.teardown(() => runner.stop());
  const times = () => sink.at("/ping").map((event) => Date.parse(String(event.headers["ce-time"])));

  await waitFor("two ticks refused", () => asked >= 2, { timeoutMs: 10_000 });
  t.same(times(), [], "nothing sent before it leads");

  leading = true;
  await waitFor("a tick sent once it leads", () => times().length >= 2, { timeoutMs: 10_000 });

  leading = false;
  const lostAt = Date.now();
  const askedBefore = asked;
  await waitFor("two more ticks refused", () => asked >= askedBefore + 2, { timeoutMs: 10_000 });
  t.ok(
    times().every((time) => time <= lostAt),
    "no tick scheduled after the Lease was lost was sent (one in flight before may still land)",
  );
  t.equal(new Set(times()).size, times().length, "each tick sent once");
});
