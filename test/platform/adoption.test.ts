import t from "tap";
import { adoptionVerdict, type ObservedPod } from "../../platform/local/adoption.ts";

const whole: ObservedPod = { knownRevision: true, app: "same", queueProxy: "same", ready: true };

t.test("a whole, live, answering pod of a known revision is adopted", async (t) => {
  t.same(adoptionVerdict(whole), { action: "adopt", ready: true });
  t.same(
    adoptionVerdict({ ...whole, ready: false }),
    { action: "adopt", ready: false },
    "not ready now: still ours",
  );
});

t.test("anything less is killed, with the reason", async (t) => {
  const cases: [Partial<ObservedPod>, RegExp][] = [
    [{ knownRevision: false }, /revision/],
    [{ queueProxy: undefined }, /never fully started/],
    [{ app: "gone" }, /app is gone/],
    [{ app: "other" }, /app is gone/],
    [{ queueProxy: "gone" }, /queue-proxy is gone/],
    [{ queueProxy: "other" }, /queue-proxy is gone/],
    [{ ready: undefined }, /does not answer/],
  ];
  for (const [change, reason] of cases) {
    const verdict = adoptionVerdict({ ...whole, ...change });
    t.equal(verdict.action, "kill", JSON.stringify(change));
    if (verdict.action === "kill") t.match(verdict.reason, reason);
  }
});
