import t from "tap";
import {
  DEFAULT_RESTART_POLICY,
  type DeathRecord,
  NO_DEATHS,
  onDeath,
  type RestartDecision,
} from "../../cli/up/restart-policy.ts";

/** Deaths after runs of `ranForMs` each, one after the other from time 0 (restart delays included). */
function deaths(count: number, ranForMs: number): RestartDecision[] {
  const decisions: RestartDecision[] = [];
  let record: DeathRecord = NO_DEATHS;
  let now = 0;
  for (let i = 0; i < count; i++) {
    const startedAt = now;
    now += ranForMs;
    const decision = onDeath(record, startedAt, now);
    decisions.push(decision);
    record = decision.record;
    if (decision.action === "restart") now += decision.delayMs;
  }
  return decisions;
}

t.test("back-off doubles from 0.5 s, and five quick deaths give up", async (t) => {
  const decisions = deaths(5, 100);
  t.same(
    decisions.slice(0, 4).map((d) => d.action === "restart" && d.delayMs),
    [500, 1000, 2000, 4000],
  );
  t.match(decisions[4], { action: "give-up", deathsInWindow: 5 }, "the fifth death within 60 s");
});

t.test("the back-off stops growing at 10 s", async (t) => {
  // Runs of 20 s: never five within 60 s, never stable either.
  const delays = deaths(8, 20_000).map((d) => (d.action === "restart" ? d.delayMs : undefined));
  t.same(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
});

t.test("a stable run forgets the earlier deaths", async (t) => {
  let record: DeathRecord = NO_DEATHS;
  for (let i = 0; i < 4; i++) record = onDeath(record, i * 1000, i * 1000 + 10).record;
  t.equal(record.recent.length, 4);
  const afterStableRun = onDeath(record, 5000, 5000 + DEFAULT_RESTART_POLICY.stableAfterMs);
  t.match(afterStableRun, { action: "restart", delayMs: 500, record: { consecutive: 1 } });
  t.equal(afterStableRun.record.recent.length, 1);
});

t.test("deaths older than the window do not count toward giving up", async (t) => {
  const policy = { ...DEFAULT_RESTART_POLICY, windowMs: 1000, stableAfterMs: 10_000 };
  let record: DeathRecord = NO_DEATHS;
  // Ten deaths 600 ms apart: never more than two within a second.
  for (let i = 0; i < 10; i++) {
    const decision = onDeath(record, i * 600, i * 600 + 100, policy);
    t.equal(decision.action, "restart", `death ${i + 1}`);
    record = decision.record;
  }
  t.ok(record.recent.length <= 2, "only the deaths within the window are kept");
  t.equal(record.consecutive, 10, "the back-off still counts them all");
});
