import t from "tap";
import { afterProbe, FAILURE_THRESHOLD, type ProbeState } from "../../platform/local/pod-phase.ts";

const starting: ProbeState = { phase: "starting", everReady: false, unanswered: 0 };

t.test("a starting pod becomes ready on the first 200, and stays starting until then", async (t) => {
  t.same(afterProbe(starting, undefined), { ...starting, unanswered: 1 }, "queue-proxy not listening yet");
  t.same(afterProbe(starting, false), starting, "app not ready yet");
  t.same(afterProbe(starting, true), { phase: "ready", everReady: true, unanswered: 0 });
});

t.test("a ready pod turns not-ready on a 503 at once, on silence only after the threshold", async (t) => {
  const ready: ProbeState = { phase: "ready", everReady: true, unanswered: 0 };
  t.equal(afterProbe(ready, false).phase, "not-ready");
  let state = ready;
  for (let i = 1; i < FAILURE_THRESHOLD; i++) {
    state = afterProbe(state, undefined);
    t.equal(state.phase, "ready", `${i} unanswered: a busy queue-proxy is not dropped`);
  }
  t.equal(afterProbe(state, undefined).phase, "not-ready");
  t.same(afterProbe(afterProbe(ready, false), true), ready, "and back");
});

t.test("terminating and crashed pods are left alone", async (t) => {
  for (const phase of ["terminating", "crashed"] as const) {
    const state: ProbeState = { phase, everReady: true, unanswered: 0 };
    t.equal(afterProbe(state, true), state);
  }
});
