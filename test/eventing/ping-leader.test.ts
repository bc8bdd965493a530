// A PingSource on a replica that does not hold the sources' Lease sends no tick: the runner asks
// at every tick (`mayTick`, SourceRunners.followLeader in Kubernetes mode), so a replica that has
// just lost the Lease is silent at once, before the next apply stops its sources, and the next
// leader's ticks are never sent twice. A real runner, a real sink on 127.0.0.1.
import t from "tap";
import { waitFor } from "../helpers/processes.ts";
import { startRecorder } from "./event-recorder.ts";
import { startPingRunner } from "./ping-runner.ts";

t.test("a PingSource ticks only while its replica leads", async (t) => {
  const sink = await startRecorder(t);
  let leading = false;
  let asked = 0;
  startPingRunner(t, `${sink.url}/ping`, () => {
    asked++;
    return leading;
  });
  const times = () => sink.at("/ping").map((event) => Date.parse(String(event.headers["ce-time"])));

  await waitFor("two ticks refused", () => asked >= 2, { timeoutMs: 10_000 });
  t.same(times(), [], "nothing sent before it leads");

  leading = true;
  await waitFor("a tick sent once it leads", () => times().length >= 2, { timeoutMs: 10_000 });

  leading = false;
  const lostAt = Date.now();
  const askedBefore = asked;
  await waitFor("two more ticks refused", () => asked >= askedBefore + 2, { timeoutMs: 10_000 });
  t.ok(
    times().every((time) => time <= lostAt),
    "no tick scheduled after the Lease was lost was sent (one in flight before may still land)",
  );
  t.equal(new Set(times()).size, times().length, "each tick sent once");
});
