import { Registry } from "prom-client";
import t from "tap";
import type { Dispatcher } from "undici";
import { ActivatorMetrics } from "../../activator/metrics.ts";
import { RevisionTable } from "../../activator/revision-table.ts";
import { StatsReporter } from "../../activator/stats-reporter.ts";
import { HopAuth } from "../../common/hop-auth.ts";
import { createLogger } from "../../common/log.ts";
import { revisionState, serviceState, stateOf } from "../helpers/fake-autoscaler.ts";

function tableWith(t: { teardown(fn: () => unknown): void }, secret: string | undefined) {
  const log = createLogger("activator-test", "warn");
  const reporter = new StatsReporter("http://127.0.0.1:1", "test", log);
  const registry = new Registry();
  const sizes = () => table.sizes();
  const metrics = new ActivatorMetrics(registry, () => ({
    revisions: [],
    sizes: { tracked: sizes().revisions, retired: sizes().retired },
  }));
  const table = new RevisionTable({
    upstream: {} as Dispatcher,
    budget: { waiting: 0, max: 100 },
    reporter,
    metrics,
    log,
    hopAuth: new HopAuth(secret),
  });
  t.teardown(() => table.close());
  return { table, reporter, registry };
}

// A pod that refuses connections: its probe keeps retrying until the table lets go of it.
const gonePod = { pod: "p1", url: "http://127.0.0.1:1" };

/** The state with `endpoints` for hello-00001, hello's only revision; then the pod refused a connection. */
function withRefusedPod(table: RevisionTable, version = 1) {
  table.update(
    stateOf(
      [serviceState("hello", [{ revision: "hello-00001", percent: 100 }])],
      [revisionState("hello-00001", "hello", { endpoints: [gonePod] })],
      version,
    ),
  );
  table.get("default/hello-00001")?.podUnreachable(gonePod.url);
}

t.test("a revision that leaves the state leaves nothing behind", async (t) => {
  const { table, reporter, registry } = tableWith(t, "a-hop-secret-long-enough");
  withRefusedPod(table);
  t.same(table.sizes(), { revisions: 1, retired: 0, probing: 1 }, "tracked, and its refusing pod probed");
  t.equal(reporter.size, 1, "stats kept for the autoscaler");
  t.match(await registry.metrics(), /sluice_activator_revisions\{what="tracked"\} 1/);

  table.update(stateOf([], [], 2));
  t.same(table.sizes(), { revisions: 0, retired: 0, probing: 0 }, "entry gone, probe aborted");
  t.equal(reporter.size, 0, "stats dropped");
  t.equal(table.get("default/hello-00001"), undefined);
  t.match(await registry.metrics(), /sluice_activator_revisions\{what="tracked"\} 0/);

  withRefusedPod(table, 3);
  t.equal(table.sizes().revisions, 1, "the same name may come back, as a new entry");
});

t.test("a pod that leaves the endpoints stops being probed", async (t) => {
  const { table } = tableWith(t, "a-hop-secret-long-enough");
  const service = serviceState("hello", [{ revision: "hello-00001", percent: 100 }]);
  withRefusedPod(table);
  t.equal(table.sizes().probing, 1);
  table.update(stateOf([service], [revisionState("hello-00001", "hello", { endpoints: [] })], 2));
  t.equal(table.sizes().probing, 0);
});

t.test("only revisions in a service's traffic or tags are referenced", async (t) => {
  const { table } = tableWith(t, undefined);
  table.update(
    stateOf(
      [
        serviceState("hello", [{ revision: "hello-00002", percent: 100 }], {
          canary: { hosts: ["canary-hello.default.example.com"], revision: "hello-00003" },
        }),
      ],
      ["hello-00001", "hello-00002", "hello-00003"].map((name) => revisionState(name, "hello")),
    ),
  );
  t.equal(table.get("default/hello-00001")?.referenced, false, "an old revision, out of the traffic");
  t.equal(table.get("default/hello-00002")?.referenced, true, "in the split");
  t.equal(table.get("default/hello-00003")?.referenced, true, "a tag's target");
});

t.test("a pod the state lists as ready takes requests at once, with or without a hop secret", async (t) => {
  for (const secret of ["a-hop-secret-long-enough", undefined]) {
    const { table } = tableWith(t, secret);
    table.update(
      stateOf(
        [serviceState("hello", [{ revision: "hello-00001", percent: 100 }])],
        [revisionState("hello-00001", "hello", { endpoints: [gonePod] })],
      ),
    );
    t.equal(table.sizes().probing, 0, `not probed (${secret ? "with" : "without"} a hop secret)`);
    t.equal(table.get("default/hello-00001")?.throttler.readyPods, 1);
  }
});

t.test("a pod that refuses a connection is out of use until its probe passes again", async (t) => {
  const { table } = tableWith(t, "a-hop-secret-long-enough");
  const pod = { pod: "p2", url: "http://127.0.0.1:2" };
  table.update(
    stateOf(
      [serviceState("hello", [{ revision: "hello-00001", percent: 100 }])],
      [revisionState("hello-00001", "hello", { endpoints: [pod] })],
    ),
  );
  const entry = table.get("default/hello-00001");
  t.equal(entry?.throttler.readyPods, 1);
  entry?.podUnreachable(pod.url);
  t.equal(entry?.throttler.readyPods, 0, "no more requests for it");
  t.equal(table.sizes().probing, 1, "probed again");
});
