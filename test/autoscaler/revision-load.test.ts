import t from "tap";
import { revisionLoad } from "../../autoscaler/revision-load.ts";
import type { PodStats } from "../../common/pod-stats.ts";

const pod = (
  averageConcurrency: number,
  averageProxiedConcurrency: number,
  requestCount: number,
  proxiedRequestCount: number,
): PodStats => ({
  revision: "r",
  pod: "p",
  averageConcurrency,
  averageProxiedConcurrency,
  requestCount,
  proxiedRequestCount,
  inFlight: 0,
  queued: 0,
  windowSeconds: 1,
  uptimeSeconds: 10,
  ready: true,
});

t.test("requests through the activator are counted once", async (t) => {
  const load = revisionLoad(
    [pod(3, 1, 30, 10), pod(2, 0, 20, 0)],
    [{ namespace: "default", revision: "r", averageConcurrency: 1.5, requestCount: 12, windowSeconds: 1 }],
  );
  t.equal(load.concurrency, 2 + 2 + 1.5, "pods minus their proxied part, plus the activator");
  t.equal(load.rps, 20 + 20 + 12);
});

t.test("no pods, only the activator holding requests (scale from zero)", async (t) => {
  t.same(
    revisionLoad(
      [],
      [{ namespace: "default", revision: "r", averageConcurrency: 5, requestCount: 5, windowSeconds: 0.5 }],
    ),
    {
      concurrency: 5,
      rps: 10,
    },
  );
});
