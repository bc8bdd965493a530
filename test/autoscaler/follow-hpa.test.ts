// An hpa-class revision in a cluster: its count is its HPA's while a route references it; once
// none does, 0, so the garbage collector takes it (an HPA never goes below one pod by itself).
import t from "tap";
import { followHpa } from "../../autoscaler/scale-decision.ts";
import { manifestOf, runtimeOf } from "../helpers/revision-runtime.ts";

const hpa = { "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev" };

t.test("referenced: follows the ready pods, straight to them", async (t) => {
  const runtime = runtimeOf(manifestOf("cpu", { annotations: hpa }), 1, 1);
  t.same(followHpa(runtime, [], 3, true, 1000), { scale: 3, mode: "serve" });
  t.same(
    followHpa(runtime, [], 0, true, 2000),
    { scale: 0, mode: "proxy" },
    "no pod ready: through the activator",
  );
  t.equal(runtime.unreferencedSince, undefined);
});

t.test("unreferenced: 0, and the time it stopped being referenced is kept", async (t) => {
  const runtime = runtimeOf(manifestOf("cpu", { annotations: hpa }), 1, 1);
  t.same(followHpa(runtime, [], 2, false, 1000), { scale: 0, mode: "proxy" });
  followHpa(runtime, [], 2, false, 5000);
  t.equal(runtime.unreferencedSince, 1000);
});
