// The time a PingSource tick stands for (its ce-time): the scheduled one, kept even when the tick
// fires late, and never one later than the firing. A second boundary passing between croner's
// choice of the first tick (in its constructor) and the runner's first prediction once labelled
// the first tick with the second's time, so one runner sent that time twice (CI caught it as a
// "duplicate" tick in the leader test). The pure rule, then a real runner with that moment forced.
import { Cron } from "croner";
import t from "tap";
import { tickTime } from "../../eventing/sources/ping.ts";
import { waitFor } from "../helpers/processes.ts";
import { startRecorder } from "./event-recorder.ts";
import { startPingRunner } from "./ping-runner.ts";

const at = (iso: string) => new Date(iso);

t.test("tickTime: the predicted time, unless it is later than the firing", async (t) => {
  t.same(tickTime(at("2026-12-03T10:00:01Z"), at("2026-12-03T10:00:01.004Z")), at("2026-12-03T10:00:01Z"));
  t.same(
    tickTime(at("2026-12-03T10:00:01Z"), at("2026-12-03T10:00:02.600Z")),
    at("2026-12-03T10:00:01Z"),
    "fired late: still the scheduled time",
  );
  t.same(
    tickTime(at("2026-12-03T10:00:02Z"), at("2026-12-03T10:00:01.003Z")),
    at("2026-12-03T10:00:01Z"),
    "a prediction past the firing named the next tick: the second it fired in",
  );
  t.same(tickTime(null, at("2026-12-03T10:00:05.250Z")), at("2026-12-03T10:00:05Z"), "no prediction");
});

t.test("a runner whose first prediction crosses a second boundary sends each time once", async (t) => {
  const sink = await startRecorder(t);
  // The runner's first nextRun() (its start's prediction, right after croner chose the first
  // tick) is held until just past the next second boundary: the moment a busy machine can make.
  const nextRun = Cron.prototype.nextRun;
  let held = false;
  Cron.prototype.nextRun = function (this: Cron, ...args: Parameters<typeof nextRun>) {
    if (!held) {
      held = true;
      const boundary = Math.ceil(Date.now() / 1000) * 1000;
      while (Date.now() < boundary + 2) {
        // busy: the boundary passes inside this call
      }
    }
    return nextRun.apply(this, args);
  };
  t.teardown(() => {
    Cron.prototype.nextRun = nextRun;
  });
  startPingRunner(t, `${sink.url}/ping`);
  await waitFor("three ticks", () => sink.at("/ping").length >= 3, { timeoutMs: 10_000 });
  const events = sink.at("/ping");
  const times = events.map((event) => String(event.headers["ce-time"]));
  t.equal(new Set(times).size, times.length, `each time once: ${times.join(", ")}`);
  for (const event of events)
    t.ok(
      Date.parse(String(event.headers["ce-time"])) <= event.receivedAt,
      `${event.headers["ce-time"]} arrived at or after its time`,
    );
});
