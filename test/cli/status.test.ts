import { execFile, spawn } from "node:child_process";
import t from "tap";
import type { StatusSnapshot } from "../../common/status.ts";
import { appService, startAutoscaler } from "../helpers/autoscaler.ts";
import { ROOT, waitFor } from "../helpers/processes.ts";
import { refusedPort } from "../helpers/refused-port.ts";

/** Runs `node cli/main.ts status …` and resolves with its exit code and output. */
function sluiceStatus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${ROOT}cli/main.ts`, "status", ...args],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number) : 0;
        resolve({ code: typeof code === "number" ? code : -1, stdout, stderr });
      },
    );
  });
}

// Without load a revision scales to zero within a second here: keep one pod up.
const MIN_SCALE_1 = 'autoscaling.knative.dev/min-scale: "1"';

t.test("sluice status against a real autoscaler", async (t) => {
  const autoscaler = await startAutoscaler(t);

  const empty = await sluiceStatus("--autoscaler", autoscaler.url);
  t.equal(empty.code, 0, empty.stderr);
  t.match(empty.stdout, /no services yet/);

  await autoscaler.apply(appService("hello", { containerConcurrency: 5, annotations: [MIN_SCALE_1] }));
  await waitFor(
    "a ready pod",
    async () => (await autoscaler.status()).services[0]?.revisions[0]?.readyPods === 1,
  );

  const table = await sluiceStatus("--autoscaler", `${autoscaler.url}/`);
  t.equal(table.code, 0, table.stderr);
  const [header, row, ...rest] = table.stdout.trimEnd().split("\n");
  t.same(header.split(/\s+/), [
    "SERVICE",
    "REVISION",
    "TRAFFIC",
    "TAGS",
    "DESIRED",
    "READY",
    "MODE",
    "CONCURRENCY",
    "RPS",
  ]);
  t.match(row.split(/\s+/), ["hello", "hello-00001", "100%", "-", "1", "1", /^(serve|proxy)$/, /^\d/, /^\d/]);
  t.equal(rest.length, 1, "one revision, one row; then the machine's room");
  t.match(rest[0], /^capacity: 1 of \d+ pods; \d+ start at once$/);
  t.equal(header.indexOf("REVISION"), row.indexOf("hello-00001"), "columns line up");

  const json = await sluiceStatus("--json", "--autoscaler", autoscaler.url);
  t.equal(json.code, 0, json.stderr);
  const snapshot = JSON.parse(json.stdout) as StatusSnapshot;
  t.match(snapshot.services, [
    {
      name: "hello",
      traffic: [{ revision: "hello-00001", percent: 100 }],
      revisions: [{ name: "hello-00001", readyPods: 1, containerConcurrency: 5 }],
    },
  ]);

  // --watch redraws every second until interrupted, then exits 0.
  const watch = spawn(process.execPath, [
    `${ROOT}cli/main.ts`,
    "status",
    "--watch",
    "--autoscaler",
    autoscaler.url,
  ]);
  t.teardown(() => watch.kill("SIGKILL"));
  let watched = "";
  watch.stdout.on("data", (chunk) => (watched += chunk));
  const watchExit = new Promise((resolve) => watch.once("exit", (code) => resolve(code)));
  await waitFor("two redraws", () => (watched.match(/hello-00001/g)?.length ?? 0) >= 2, {
    timeoutMs: 10_000,
  });
  watch.kill("SIGINT");
  t.equal(await watchExit, 0, "--watch stops cleanly on Ctrl-C");

  const help = await sluiceStatus("--help");
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: sluice status/);
});

t.test("an unreachable autoscaler: exit 1, naming the URL", async (t) => {
  const url = `http://127.0.0.1:${await refusedPort(t)}`;
  const result = await sluiceStatus("--autoscaler", url);
  t.equal(result.code, 1);
  t.match(result.stderr, `cannot reach the autoscaler at ${url}`);
  t.match(result.stderr, /ECONNREFUSED/);
  t.equal(result.stdout, "");
});

t.test("bad usage: exit 2", async (t) => {
  const flag = await sluiceStatus("--colour");
  t.equal(flag.code, 2);
  t.match(flag.stderr, /--colour/);
  t.match(flag.stderr, /usage: sluice status/);

  const url = await sluiceStatus("--autoscaler", "not a url");
  t.equal(url.code, 2);
  t.match(url.stderr, /not an http\(s\) URL/);

  const positional = await sluiceStatus("hello");
  t.equal(positional.code, 2);
});
