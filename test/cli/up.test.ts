// `sluice up` on the examples, as a user runs it: a child process, requests through the router,
// scale from zero, `sluice status`, and Ctrl-C leaving no process behind.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import t from "tap";
import { Agent, request } from "undici";
import { processTree } from "../../bench/lib/proc.ts";
import type { StatusSnapshot } from "../../common/status.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";
import { serviceYaml } from "../helpers/service-yaml.ts";
import { tempDir } from "../helpers/temp.ts";

const run = promisify(execFile);

interface Up {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startUp(t: { teardown(fn: () => unknown): void }, args: string[], stateDir = tempStateDir(t)): Up {
  const child = spawn(process.execPath, ["cli/main.ts", "up", "--state-dir", stateDir, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // The examples run `node`: the same Node 24 as this test.
    env: { ...process.env, PATH: `${join(process.execPath, "..")}:${process.env.PATH}` },
  });
  return { child, ...watchChild(t, child) };
}

function tempStateDir(t: { teardown(fn: () => unknown): void }): string {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-up-"));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  return stateDir;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test("sluice up runs the examples through the whole data plane, and Ctrl-C stops everything", async (t) => {
  const up = startUp(t, ["--router-port", "0", "--autoscaler-port", "0"]);
  const banner = await waitFor(
    "the banner",
    () => (up.output().includes("Ctrl-C stops everything") ? up.output() : undefined),
    { timeoutMs: 60_000, everyMs: 100 },
  );
  t.comment(banner);
  const routerUrl = /router\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
  const autoscalerUrl = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
  t.ok(routerUrl && autoscalerUrl, "the banner names the router and the autoscaler");
  for (const host of [
    "hello.default.example.com",
    "canary-hello.default.example.com",
    "one-at-a-time.default.example.com",
    "scheduled.default.example.com",
  ])
    t.match(banner, `curl -H 'Host: ${host}' ${routerUrl}/`, `a curl for ${host}`);

  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const get = async (host: string, path = "/") => {
    const res = await request(`${routerUrl}${path}`, { dispatcher, headers: { host } });
    return { status: res.statusCode, body: await res.body.text(), revision: res.headers["sluice-revision"] };
  };
  t.match(
    await get("hello.default.example.com"),
    { status: 200, body: /^Hello from hello-0000[12] \(v[12]\)/ },
    "hello scales from zero and answers",
  );
  t.match(
    await get("canary-hello.default.example.com"),
    { status: 200, revision: "hello-00002" },
    "the canary tag host",
  );
  t.match(await get("one-at-a-time.default.example.com"), { status: 200, revision: "one-at-a-time-00001" });
  t.match(await get("scheduled.default.example.com"), { status: 200, revision: "scheduled-00001" });
  t.match(
    await get("127.0.0.1", "/hello/?sleep=5"),
    { status: 200, body: /after 5 ms/ },
    "path routing and the slow endpoint",
  );

  const status = await run(process.execPath, ["cli/main.ts", "status", "--autoscaler", autoscalerUrl], {
    cwd: ROOT,
  });
  t.match(status.stdout, /hello-00001/);
  t.match(status.stdout, /one-at-a-time-00001/);
  t.match(status.stdout, /canary/);

  const processes = processTree(up.child.pid as number).slice(1);
  t.ok(
    processes.length >= 5,
    `sluice up runs ${processes.length} processes (autoscaler, activator, router, pods)`,
  );
  up.child.kill("SIGINT");
  t.equal(await up.exited, 0, "exits 0 on Ctrl-C");
  await waitFor("every process gone", () => processes.every((pid) => !alive(pid)), { timeoutMs: 20_000 });
  t.pass("no process left behind");
});

t.test(
  "sluice up refuses an invalid file before starting anything, and a taken port with a clear message",
  async (t) => {
    const dir = tempDir(t, "sluice-up-bad-");
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containerConcurrency: -1\n      containers:\n        - command: [node, x.ts]\n",
    );
    const invalid = startUp(t, ["-f", bad, "--router-port", "0", "--autoscaler-port", "0"]);
    t.equal(await invalid.exited, 2);
    t.match(invalid.output(), /invalid Service files; nothing was started/);
    t.match(invalid.output(), /bad\.yaml:8:\d+: .*containerConcurrency/);

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    t.teardown(() => taken.close());
    const port = (taken.address() as { port: number }).port;
    const busy = startUp(t, ["--autoscaler-port", String(port), "--router-port", "0"]);
    t.equal(await busy.exited, 1);
    t.match(busy.output(), /already in use/);
    t.match(busy.output(), /--autoscaler-port/);

    const usage = startUp(t, ["--router-port", "http"]);
    t.equal(await usage.exited, 2);
    t.match(usage.output(), /--router-port http: expected a port number/);
  },
);

t.test("a second Ctrl-C kills at once, and the pods stop with it (their lease is revoked)", async (t) => {
  const up = startUp(t, ["-f", "examples/hello.yaml", "--router-port", "0", "--autoscaler-port", "0"]);
  const banner = await waitFor(
    "the banner",
    () => (up.output().includes("Ctrl-C stops everything") ? up.output() : undefined),
    { timeoutMs: 60_000, everyMs: 100 },
  );
  const routerUrl = /router\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
  const res = await request(`${routerUrl}/`, { headers: { host: "hello.default.example.com" } });
  t.equal(res.statusCode, 200, "a pod started");
  await res.body.dump();
  const processes = processTree(up.child.pid as number).slice(1);
  t.ok(processes.length >= 5, `${processes.length} processes, a pod's among them`);
  // A request in flight keeps the router draining after the first Ctrl-C, so the second one
  // kills the autoscaler before it could stop its pods itself.
  const held = request(`${routerUrl}/?sleep=30000`, { headers: { host: "hello.default.example.com" } }).catch(
    () => undefined,
  );
  const autoscalerUrl = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
  await waitFor("the request held at the pod", async () => {
    const status = (await (await request(`${autoscalerUrl}/v1/status`)).body.json()) as StatusSnapshot;
    return status.services.some((service) => service.revisions.some((r) => r.concurrency.current > 0));
  });
  up.child.kill("SIGINT");
  await waitFor("the first Ctrl-C taken", () => up.output().includes("stopping (Ctrl-C again"));
  up.child.kill("SIGINT");
  await up.exited;
  // Without the revoked lease the pods would outlive the killed autoscaler for the orphan grace (60 s).
  await waitFor("every process gone", () => processes.every((pid) => !alive(pid)), { timeoutMs: 20_000 });
  t.pass("no process left behind");
  await held;
});

t.test(
  "sluice up runs the services of its files: an earlier run's stay in the history, inactive",
  async (t) => {
    const stateDir = tempStateDir(t);
    const file = (name: string) => {
      const path = join(stateDir, `${name}.yaml`);
      writeFileSync(
        path,
        serviceYaml(name, {
          annotations: ['autoscaling.knative.dev/min-scale: "1"'],
          command: '"node", "examples/hello/app.ts"',
        }),
      );
      return path;
    };
    const banner = async (up: Up) =>
      waitFor(
        "the banner",
        () => (up.output().includes("Ctrl-C stops everything") ? up.output() : undefined),
        {
          timeoutMs: 60_000,
          everyMs: 100,
        },
      );
    const statusOf = async (output: string) => {
      const url = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] as string;
      return (await (await request(`${url}/v1/status`)).body.json()) as StatusSnapshot;
    };

    const yesterday = startUp(
      t,
      ["-f", file("yesterday"), "--router-port", "0", "--autoscaler-port", "0"],
      stateDir,
    );
    const first = await banner(yesterday);
    await waitFor("yesterday's pod ready (min-scale 1)", async () =>
      (await statusOf(first)).services.some((s) => s.revisions.some((r) => r.readyPods === 1)),
    );
    yesterday.child.kill("SIGINT");
    t.equal(await yesterday.exited, 0);

    const today = startUp(t, ["-f", file("today"), "--router-port", "0", "--autoscaler-port", "0"], stateDir);
    const second = await banner(today);
    t.match(second, /sluice is up: 1 service from/, "only today's file's service runs");
    t.match(
      second,
      /From earlier runs, kept inactive \(no pods\): yesterday\./,
      "the banner names the earlier one",
    );
    await waitFor("today's pod ready", async () =>
      (await statusOf(second)).services.some(
        (s) => s.name === "today" && s.revisions.some((r) => r.readyPods === 1),
      ),
    );
    const status = await statusOf(second);
    const old = status.services.find((s) => s.name === "yesterday");
    t.equal(old?.active, false, "yesterday is listed, inactive");
    t.same(old?.revisions, [], "with no revision running");
    const pods = processTree(today.child.pid as number).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("examples/hello/app.ts");
      } catch {
        return false;
      }
    });
    t.equal(pods.length, 1, "one app process: today's, none for yesterday");
    today.child.kill("SIGINT");
    t.equal(await today.exited, 0);
  },
);
