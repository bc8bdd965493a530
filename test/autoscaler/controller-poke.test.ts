// The activator's pokes are decided at once, not at the next tick (Knative's Poke): from zero to
// the activation scale, and while no pod is ready, to what the waiting requests ask of the KPA.
import t from "tap";
import type { PodStatus } from "../../platform/platform.ts";
import { startController } from "../helpers/controller.ts";
import { tempStateDir } from "../helpers/platform.ts";
import { serviceYaml } from "../helpers/service-yaml.ts";

const KEY = "default/cold-00001";

function poke(demand: number, poke = true) {
  return {
    activator: "a",
    revisions: [
      {
        namespace: "default",
        revision: "cold-00001",
        averageConcurrency: demand,
        requestCount: 1,
        windowSeconds: 0,
        poke,
      },
    ],
  };
}

t.test("a poke while no pod is ready scales to the waiting requests' KPA figure", async (t) => {
  const { controller, platform } = await startController(t, tempStateDir(t, "sluice-poke-"));
  const applied = controller.apply(
    serviceYaml("cold", {
      annotations: ['autoscaling.knative.dev/initial-scale: "0"'],
      containerConcurrency: 4,
    }),
    "cold.yaml",
  );
  t.ok(applied.ok, applied.problems.join("\n"));
  const desired = () => platform.revision(KEY)?.desired;
  t.equal(desired(), 0, "at zero");

  const now = Date.now();
  controller.activatorStats(poke(1), now);
  t.equal(desired(), 1, "the first request: the activation scale");

  // The burst has arrived (the activator's follow-up poke): cc 4 at 70 % is 2.8 per pod, and
  // the second's record averages with the first's 1.
  controller.activatorStats(poke(300), now + 100);
  t.equal(desired(), Math.ceil((1 + 300) / 2 / 2.8), "sized from the queue at once");
  const sized = desired() as number;

  controller.activatorStats(poke(2), now + 200);
  t.equal(desired(), sized, "a poke never takes pods away");
  controller.activatorStats(poke(900, false), now + 300);
  t.equal(desired(), sized, "a push without a poke waits for the tick");

  // A pod is ready (the activator has not heard yet): its poke is the tick's to decide.
  const entry = platform.revisions.get(KEY);
  entry?.pods.push({ name: "cold-00001-001", phase: "ready", restarts: 0, startedAt: now } as PodStatus);
  controller.activatorStats(poke(3000), now + 400);
  t.equal(desired(), sized, "no decision on a poke once a pod is ready");
});

t.test(
  "a poke at zero with a pod still ready (going away) scales to the activation scale only",
  async (t) => {
    const { controller, platform } = await startController(t, tempStateDir(t, "sluice-poke-"));
    controller.apply(
      serviceYaml("cold", {
        annotations: ['autoscaling.knative.dev/initial-scale: "0"'],
        containerConcurrency: 4,
      }),
      "cold.yaml",
    );
    const now = Date.now();
    platform.revisions
      .get(KEY)
      ?.pods.push({ name: "cold-00001-001", phase: "ready", restarts: 0, startedAt: now } as PodStatus);
    controller.activatorStats(poke(50), now);
    t.equal(platform.revision(KEY)?.desired, 1, "at once, as from zero; the tick sizes it");
  },
);

t.test(
  "a poke for a revision no route references any more starts one pod for it, and ticks keep it",
  async (t) => {
    // A router not told yet of the new traffic sends to the old revision, gone to zero: without
    // a pod for it the request waited at the activator until its timeout.
    const { controller, platform } = await startController(t, tempStateDir(t, "sluice-poke-"));
    const pinned = (revision: string) =>
      serviceYaml("cold", {
        revisionName: revision,
        annotations: ['autoscaling.knative.dev/min-scale: "2"'],
        containerConcurrency: 4,
        env: { VERSION: `"${revision}"` },
        traffic: `  traffic:\n    - revisionName: ${revision}\n      percent: 100\n`,
      });
    t.ok(controller.apply(pinned("cold-00001"), "cold.yaml").ok);
    t.ok(controller.apply(pinned("cold-00002"), "cold.yaml").ok);
    const desired = () => platform.revision(KEY)?.desired;
    await controller.tick();
    t.equal(desired(), 0, "unreferenced: zero, min-scale or not");

    controller.activatorStats(poke(1));
    t.equal(desired(), 1, "a request waits for it: one pod, not min-scale");
    await controller.tick();
    t.equal(desired(), 1, "kept while the activator holds it");
    await controller.tick();
    t.equal(desired(), 1, "a tick between two pushes keeps it: the window has the request");
  },
);
