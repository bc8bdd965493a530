// The autoscaler's controller with 1,000 (REVISIONS) services of one revision each, on a platform
// that runs nothing: reports its memory before and after, and the cost of one tick.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { loadConfig } from "../../autoscaler/config.ts";
import { Controller } from "../../autoscaler/controller.ts";
import { AutoscalerMetrics } from "../../autoscaler/metrics.ts";
import { StatePublisher } from "../../autoscaler/state-publisher.ts";
import { createLogger } from "../../common/log.ts";
import { RevisionStore } from "../../serving/revision-store.ts";
import { IdlePlatform } from "../../test/helpers/idle-platform.ts";
import { serviceYaml } from "../../test/helpers/service-yaml.ts";

const count = Number(process.env.REVISIONS ?? 1000);
const dir = mkdtempSync(join(tmpdir(), "sluice-bench-controller-"));
const memory = () => {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / 1e6, heapMb: usage.heapUsed / 1e6 };
};
const before = memory();
const store = new RevisionStore(dir);
const controller = new Controller({
  config: loadConfig({ SLUICE_STATE_DIR: dir }),
  platform: new IdlePlatform(),
  store,
  publisher: new StatePublisher("example.com"),
  metrics: new AutoscalerMetrics(new Registry()),
  log: createLogger("bench", "silent"),
});
const docs: string[] = [];
for (let i = 0; i < count; i++) {
  docs.push(serviceYaml(`svc-${i}`, { annotations: ['autoscaling.knative.dev/initial-scale: "0"'] }));
}
const applyStart = performance.now();
const result = controller.apply(docs.join("---\n"), "bench.yaml");
const applyMs = performance.now() - applyStart;
if (!result.ok) throw new Error(result.problems.slice(0, 3).join("\n"));
const tickMs: number[] = [];
for (let i = 0; i < 10; i++) {
  const start = performance.now();
  await controller.tick();
  tickMs.push(performance.now() - start);
}
const after = memory();
process.send?.({ type: "listening", count, applyMs, tickMs, before, after });
store.close();
rmSync(dir, { recursive: true, force: true });
