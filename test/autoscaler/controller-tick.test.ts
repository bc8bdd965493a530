// A tick that throws is logged and the next one runs: here the platform fails for a while (as a
// Kubernetes API or a full disk might), then recovers, and scaling carries on.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import t from "tap";
import { loadConfig } from "../../autoscaler/config.ts";
import { Controller } from "../../autoscaler/controller.ts";
import { AutoscalerMetrics } from "../../autoscaler/metrics.ts";
import { StatePublisher } from "../../autoscaler/state-publisher.ts";
import { revisionKey } from "../../common/state.ts";
import type { Platform, PodTemplate, RevisionPods } from "../../platform/platform.ts";
import { RevisionStore } from "../../serving/revision-store.ts";
import { appService } from "../helpers/autoscaler.ts";

/** Runs nothing; while `broken`, reading a revision's pods throws. */
class FlakyPlatform implements Platform {
  broken = false;
  readonly scaled: [string, number][] = [];
  readonly #revisions = new Map<string, RevisionPods>();
  ensureRevision(template: PodTemplate): void {
    const key = revisionKey(template.namespace, template.revision);
    if (!this.#revisions.has(key)) this.#revisions.set(key, { key, desired: 0, pods: [] });
  }
  scale(revision: string, replicas: number): void {
    this.scaled.push([revision, replicas]);
    const entry = this.#revisions.get(revision);
    if (entry) entry.desired = replicas;
  }
  async deleteRevision(revision: string): Promise<void> {
    this.#revisions.delete(revision);
  }
  revision(revision: string): RevisionPods | undefined {
    if (this.broken) throw new Error("platform unavailable");
    return this.#revisions.get(revision);
  }
  onChange(): void {}
  async close(): Promise<void> {}
}

t.test("a failing tick is logged and the next one runs", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-tick-"));
  const store = new RevisionStore(dir);
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const platform = new FlakyPlatform();
  const publisher = new StatePublisher("example.com");
  t.teardown(() => publisher.close());
  const controller = new Controller({
    config: loadConfig({ SLUICE_STATE_DIR: dir }),
    platform,
    store,
    publisher,
    metrics: new AutoscalerMetrics(new Registry()),
    log,
  });
  await controller.restore();

  platform.broken = true;
  const applied = controller.apply(
    appService("hello", { annotations: ['autoscaling.knative.dev/min-scale: "2"'] }),
    "hello.yaml",
  );
  t.ok(applied.ok, applied.problems.join("\n"));
  for (let i = 0; i < 3; i++) await controller.tick(); // resolves: no rejection escapes
  const failures = lines.filter((line) => line.msg === "tick failed; the next one runs as usual");
  t.ok(failures.length >= 3, `every failed tick logged (${failures.length})`);
  t.equal(failures[0].err?.message, "platform unavailable", "with its cause");
  t.equal(failures[0].level, 50, "at error level");
  t.same(platform.scaled, [], "nothing scaled while the platform fails");

  platform.broken = false;
  await controller.tick();
  t.same(platform.scaled, [["default/hello-00001", 2]], "the next good tick scales to min-scale");
  t.equal(publisher.state.revisions["default/hello-00001"]?.desiredPods, 2, "and publishes");
});

t.test("an applied service is in the published state when apply returns, before any tick", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-apply-publish-"));
  const store = new RevisionStore(dir);
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const platform = new FlakyPlatform();
  const publisher = new StatePublisher("example.com");
  t.teardown(() => publisher.close());
  const controller = new Controller({
    config: loadConfig({ SLUICE_STATE_DIR: dir }),
    platform,
    store,
    publisher,
    metrics: new AutoscalerMetrics(new Registry()),
    log: pino({ level: "silent" }),
  });
  await controller.restore();
  const before = publisher.state.generation;
  t.ok(controller.apply(appService("fresh"), "fresh.yaml").ok);
  // Synchronously: no tick (which awaits a scrape of every pod first) has run yet.
  t.ok(publisher.state.services["default/fresh"], "the service is routable");
  t.ok(publisher.state.revisions["default/fresh-00001"], "with its revision");
  t.ok(publisher.state.generation > before, "in a new generation");
});
