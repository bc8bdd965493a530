import { Registry } from "prom-client";
import t from "tap";
import { AutoscalerMetrics } from "../../autoscaler/metrics.ts";
import type { RevisionRuntime } from "../../autoscaler/revision-runtime.ts";
import type { ServiceState } from "../../common/state.ts";
import type { PodPhase, PodStatus } from "../../platform/platform.ts";

const runtime = {
  key: "default/hello-00001",
  revision: { service: "hello", namespace: "default", name: "hello-00001" },
  template: { containerConcurrency: 10 },
  desired: 1,
  lastDecision: undefined,
} as unknown as RevisionRuntime;

const pod = (phase: PodPhase, startedAt: number): PodStatus => ({
  name: `p${startedAt}`,
  phase,
  restarts: 0,
  startedAt,
});

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => name.startsWith(m.name));
  const values = (metric?.values ?? []) as {
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }[];
  return values.find(
    (v) =>
      (v.metricName ?? metric?.name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  )?.value;
}

t.test(
  "a cold start: counted when the revision goes from no ready pod to one, timed from its earliest pod",
  async (t) => {
    const registry = new Registry();
    const metrics = new AutoscalerMetrics(registry);
    metrics.record(runtime, [], 1000);
    t.equal(await value(registry, "sluice_autoscaler_cold_starts_total"), 0, "the series exists at 0");
    metrics.record(runtime, [pod("starting", 2000)], 2500);
    metrics.record(runtime, [pod("ready", 2000), pod("pending", 1500)], 4000);
    metrics.record(runtime, [pod("ready", 2000)], 5000);
    t.equal(await value(registry, "sluice_autoscaler_cold_starts_total"), 1);
    t.equal(await value(registry, "sluice_autoscaler_cold_start_duration_seconds_sum"), 2);
    t.equal(await value(registry, "sluice_autoscaler_container_concurrency"), 10);
    metrics.record(runtime, [], 6000);
    metrics.record(runtime, [pod("ready", 7000)], 8000);
    t.equal(await value(registry, "sluice_autoscaler_cold_starts_total"), 2, "from zero again");
    metrics.forget(runtime);
    t.equal(await value(registry, "sluice_autoscaler_cold_starts_total"), undefined, "forgotten");
  },
);

t.test("a revision first seen with ready pods (adopted after a restart) is no cold start", async (t) => {
  const registry = new Registry();
  const metrics = new AutoscalerMetrics(registry);
  metrics.record(runtime, [pod("ready", 1)], 1000);
  t.equal(await value(registry, "sluice_autoscaler_cold_starts_total"), 0);
});

t.test("traffic_ratio: each revision's share of its service's main split, tags summed", async (t) => {
  const registry = new Registry();
  const services = [
    {
      name: "hello",
      namespace: "default",
      traffic: [
        { revision: "hello-00001", percent: 80 },
        { revision: "hello-00002", percent: 20, tag: "canary" },
      ],
    },
    {
      name: "twice",
      namespace: "ns",
      traffic: [
        { revision: "twice-00001", percent: 50, tag: "a" },
        { revision: "twice-00001", percent: 50, tag: "b" },
      ],
    },
  ] as unknown as ServiceState[];
  new AutoscalerMetrics(registry, () => services);
  t.equal(await value(registry, "sluice_autoscaler_traffic_ratio", { revision: "hello-00001" }), 0.8);
  t.equal(await value(registry, "sluice_autoscaler_traffic_ratio", { revision: "hello-00002" }), 0.2);
  t.equal(
    await value(registry, "sluice_autoscaler_traffic_ratio", { namespace: "ns", revision: "twice-00001" }),
    1,
  );
});
