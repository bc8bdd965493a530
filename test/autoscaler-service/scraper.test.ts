import { createServer } from "node:http";
import t from "tap";
import { scrapeAll } from "../../autoscaler/scraper.ts";
import { listen } from "../../common/http/listen.ts";

t.test("a slow or dead pod does not stall the scrape of the others", async (t) => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/slow")) return; // never answers
    if (req.url?.startsWith("/broken")) {
      res.statusCode = 500;
      return res.end("no");
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ revision: "r", pod: "p", averageConcurrency: 1.5 }));
  });
  const port = await listen(server, 0);
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const results = await scrapeAll(
    [
      { revisionKey: "default/r", pod: "ok", adminUrl: base },
      { revisionKey: "default/r", pod: "slow", adminUrl: `${base}/slow` },
      { revisionKey: "default/r", pod: "broken", adminUrl: `${base}/broken` },
      { revisionKey: "default/r", pod: "dead", adminUrl: "http://127.0.0.1:1" },
    ],
    // Room for the answering pods on a loaded machine (300 ms once timed out the 500's answer);
    // the slow pod never answers, so any bound shows the timeout at work.
    { timeoutMs: 2_000 },
  );
  t.ok(Date.now() - started < 10_000, "bounded by the timeout, not by the slow pod");
  t.match(results[0], { stats: { averageConcurrency: 1.5 } });
  t.match(results[1], { error: /abort|timeout/i });
  t.match(results[2], { error: "status 500" });
  t.match(results[3], { error: /ECONNREFUSED|connect/ });
});
