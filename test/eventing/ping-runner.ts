// A real PingSourceRunner on its own, for the tests of its ticks: a PingSource ticking every second
// into a sink, compiled as the eventing runtime compiles it, sending with an agent of its own.
import { Registry } from "prom-client";
import type { Test } from "tap";
import { Agent } from "undici";
import { createLogger } from "../../common/log.ts";
import { compileSources, type PingSourceRuntime } from "../../eventing/resources/compile-sources.ts";
import type { SourceManifest } from "../../eventing/resources/source-manifest.ts";
import { PingSourceRunner } from "../../eventing/sources/ping.ts";
import { SourceMetrics } from "../../eventing/sources/source-metrics.ts";

/**
 * Starts a runner of a PingSource ticking every second into `sinkUri`, stopped when the test ends.
 * `mayTick` as in Kubernetes mode (SourceRunners.followLeader); none: it always ticks.
 */
export function startPingRunner(t: Test, sinkUri: string, mayTick?: () => boolean): PingSourceRunner {
  const manifest = {
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: { name: "tick", namespace: "default" },
    spec: { schedule: "* * * * * *", sink: { uri: sinkUri } },
  } as SourceManifest;
  const [source] = compileSources([manifest], {
    routerUrl: "http://127.0.0.1:9",
    domain: "example.com",
    brokerIngressUrl: "http://127.0.0.1:9",
  }) as PingSourceRuntime[];
  const agent = new Agent();
  const log = createLogger("test", "silent");
  const runner = new PingSourceRunner(source, {
    sink: { agent, timeoutMs: 10_000, metrics: new SourceMetrics(new Registry()), log },
    log,
    ...(mayTick === undefined ? {} : { mayTick }),
  });
  runner.start();
  t.teardown(async () => {
    await runner.stop();
    await agent.close();
  });
  return runner;
}
