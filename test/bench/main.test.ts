// Smoke test of `npm run bench`: the usage, a refusal, and one tiny bounded run (one target family on
// one data path, 1 s per target) that must produce its table, its goals and its JSON.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import t from "tap";
import { skipUnlessTool } from "../helpers/required-tool.ts";

const MAIN = fileURLToPath(new URL("../../bench/main.ts", import.meta.url));
const WRK = ["/usr/bin/wrk", "/usr/local/bin/wrk"].some((path) => existsSync(path));

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test("--help lists the presets, families and options", async (t) => {
  const { code, stdout } = await bench(["--help"]);
  t.equal(code, 0);
  for (const word of ["quick", "queue-proxy", "router", "serve", "proxy", "burst", "startup", "--paths"])
    t.match(stdout, word);
});

t.test("an unknown scenario or a bad option is refused with the usage", async (t) => {
  const unknown = await bench(["nonsense"]);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, 'unknown scenario "nonsense"');
  const badPath = await bench(["serve", "--paths", "fast"]);
  t.equal(badPath.code, 2);
  t.match(badPath.stderr, "--paths fast");
  const badPlacement = await bench(["serve", "--placement", "nowhere"]);
  t.equal(badPlacement.code, 2);
  t.match(badPlacement.stderr, "--placement nowhere: expected shared or pinned");
});

t.test(
  "a tiny bounded run: the queue-proxy on the node path against the app and nginx",
  { skip: skipUnlessTool("wrk", WRK, "apt-get install wrk"), timeout: 120_000 },
  async (t) => {
    const { code, stdout, stderr } = await bench([
      "queue-proxy",
      "--paths",
      "node",
      "--connections",
      "2",
      "--duration",
      "1",
      "--rounds",
      "1",
      "--warmup",
      "0",
      "--load",
      "wrk",
    ]);
    t.equal(code, 0, "exits 0", { stderr });
    t.match(stdout, /\n\s*direct\s+\d+/, "the app's own row");
    t.match(stdout, /queue-proxy \[node\]\s+\d+/, "the queue-proxy's row, labelled by path");
    t.match(stdout, "issue 13 goals");
    const file = /results: (\S+\.json)/.exec(stdout)?.[1];
    t.ok(file && existsSync(file), "the JSON results");
    if (!file) return;
    t.teardown(() => rmSync(file, { force: true }));
    const saved = JSON.parse(readFileSync(file, "utf8"));
    const qp = saved.results.find((r: { target: string }) => r.target === "queue-proxy [node]");
    t.equal(qp.connections, 2);
    t.ok(qp.requests > 0 && qp.pathCpu > 0, `${qp.requests} requests, ${qp.pathCpu} µs/req`);
    t.equal(qp.errors, 0);
    t.ok(qp.rssMb["queue-proxy"] > 0);
  },
);
