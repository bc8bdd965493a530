import type { Registry } from "prom-client";
import t from "tap";
import { createDeferredRegistry } from "../../common/deferred-registry.ts";
import { SeriesMetric } from "../../common/fixed-label-metrics.ts";
import { createRegistry } from "../../common/metrics.ts";
import { waitFor } from "../helpers/processes.ts";

const typeLines = (text: string) => text.split("\n").filter((line) => line.startsWith("# TYPE "));

function gauge(registry: Registry, name: string, value: () => number): SeriesMetric {
  return new SeriesMetric(registry, name, `${name} help`, "gauge", (out) =>
    out.push({ labels: { revision: "r-1" }, value: value() }),
  );
}

t.test(
  "its first scrape has what createRegistry's has: the process metrics, then the component's",
  async (t) => {
    const deferred = createDeferredRegistry("queue-proxy");
    const eager = createRegistry("queue-proxy");
    let inFlight = 3;
    for (const registry of [deferred, eager]) {
      gauge(registry, "sluice_queue_proxy_in_flight_requests", () => inFlight);
      gauge(registry, "sluice_queue_proxy_queued_requests", () => 0);
    }
    const text = await deferred.metrics();
    t.same(typeLines(text), typeLines(await eager.metrics()), "the same metrics, in the same order");
    t.match(text, /^sluice_queue_proxy_process_cpu_seconds_total /m, "the process metrics, prefixed");
    t.match(text, /^sluice_queue_proxy_in_flight_requests\{revision="r-1"\} 3$/m);
    t.equal(deferred.contentType, eager.contentType);
    inFlight = 5;
    t.match(
      await deferred.metrics(),
      /^sluice_queue_proxy_in_flight_requests\{revision="r-1"\} 5$/m,
      "read per scrape",
    );

    gauge(deferred, "sluice_queue_proxy_late", () => 1);
    t.match(
      await deferred.metrics(),
      /^sluice_queue_proxy_late\{revision="r-1"\} 1$/m,
      "registered after the load",
    );
  },
);

t.test("a name registered twice throws at once, as prom-client's registry does", async (t) => {
  const deferred = createDeferredRegistry("router");
  const first = gauge(deferred, "sluice_router_x", () => 1);
  t.equal(deferred.getSingleMetric("sluice_router_x"), first as never, "found before the load");
  t.throws(() => gauge(deferred, "sluice_router_x", () => 2), /already been registered/);
  await deferred.metrics();
  t.throws(() => gauge(deferred, "sluice_router_x", () => 2), /already been registered/, "and after it");
});

t.test("{ now: true } loads prom-client without waiting for a scrape", async (t) => {
  const deferred = createDeferredRegistry("queue-proxy", { now: true });
  gauge(deferred, "sluice_queue_proxy_y", () => 7);
  t.ok(
    await waitFor("the process metrics", () =>
      deferred.getSingleMetric("sluice_queue_proxy_process_cpu_seconds_total"),
    ),
    "loaded without a scrape",
  );
  t.match(await deferred.metrics(), /^sluice_queue_proxy_y\{revision="r-1"\} 7$/m);
});
