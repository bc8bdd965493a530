// The activator's pokes, as the autoscaler receives them over HTTP: the first request's at once,
// and one follow-up with the demand a burst has reached since.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { StatsReporter } from "../../activator/stats-reporter.ts";
import type { ActivatorStats } from "../../common/activator-stats.ts";
import { createLogger } from "../../common/log.ts";
import { waitFor } from "../helpers/processes.ts";

t.test("a burst at zero: a poke at once, then one follow-up with the demand reached", async (t) => {
  const pokes: number[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      for (const revision of (JSON.parse(body) as ActivatorStats).revisions)
        if (revision.poke) pokes.push(revision.averageConcurrency);
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => server.close());
  const reporter = new StatsReporter(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    "test",
    createLogger("test", "silent"),
  );
  t.teardown(() => reporter.stop());

  const key = "default/cold-00001";
  const stats = reporter.statsFor(key);
  // As the handler does: poke, then the request is held (counted) while no pod is ready.
  for (let request = 0; request < 50; request++) {
    reporter.poke(key);
    stats.arrive(Date.now(), false);
  }
  await waitFor("two pokes", () => pokes.length >= 2);
  t.same(pokes, [1, 50], "the first says 1 (all it knew); the follow-up the 50 held by then");
});
