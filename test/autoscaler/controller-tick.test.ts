// A tick that throws is logged and the next one runs: here the platform fails for a while (as a
// Kubernetes API or a full disk might), then recovers, and scaling carries on.
import pino from "pino";
import t from "tap";
import type { RevisionPods } from "../../platform/platform.ts";
import { appService } from "../helpers/autoscaler.ts";
import { startController } from "../helpers/controller.ts";
import { IdlePlatform } from "../helpers/idle-platform.ts";
import { tempStateDir } from "../helpers/platform.ts";

/** Runs nothing, and keeps what it was told to scale; while `broken`, reading a revision's pods throws. */
class FlakyPlatform extends IdlePlatform {
  broken = false;
  readonly scaled: [string, number][] = [];
  override scale(revision: string, replicas: number): void {
    this.scaled.push([revision, replicas]);
    super.scale(revision, replicas);
  }
  override revision(revision: string): RevisionPods | undefined {
    if (this.broken) throw new Error("platform unavailable");
    return super.revision(revision);
  }
}

t.test("a failing tick is logged and the next one runs", async (t) => {
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const { controller, publisher, platform } = await startController(t, tempStateDir(t, "sluice-tick-"), {
    platform: new FlakyPlatform(),
    log,
  });

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
  const { controller, publisher } = await startController(t, tempStateDir(t, "sluice-apply-publish-"));
  const before = publisher.state.generation;
  t.ok(controller.apply(appService("fresh"), "fresh.yaml").ok);
  // Synchronously: no tick (which awaits a scrape of every pod first) has run yet.
  t.ok(publisher.state.services["default/fresh"], "the service is routable");
  t.ok(publisher.state.revisions["default/fresh-00001"], "with its revision");
  t.ok(publisher.state.generation > before, "in a new generation");
});

t.test("a tick asked for during a round runs after it; after stop, none runs", async (t) => {
  /** Counts the rounds by their first platform read (scrapeTargets reads every revision's pods). */
  class CountingPlatform extends IdlePlatform {
    reads = 0;
    override revision(revision: string): RevisionPods | undefined {
      this.reads++;
      return super.revision(revision);
    }
  }
  const { controller, platform } = await startController(t, tempStateDir(t, "sluice-tick-stop-"), {
    platform: new CountingPlatform(),
  });
  t.ok(controller.apply(appService("hello"), "hello.yaml").ok); // starts a round
  const started = platform.reads;
  t.ok(started > 0, "apply's round is running");
  const again = controller.tick();
  t.equal(platform.reads, started, "asked for during it: not started yet");
  await again;
  t.ok(platform.reads > started, "then run, once the first was done");

  void controller.tick();
  const queued = controller.tick();
  await controller.stop();
  const atStop = platform.reads;
  await queued;
  await controller.tick();
  t.equal(platform.reads, atStop, "stopped: neither the one asked for nor a new one runs");
});
