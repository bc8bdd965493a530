// `sluice up` supervises its components: the autoscaler, SIGKILLed under a steady load, is
// restarted on the same port, finds its services and pods again, and no request fails meanwhile;
// a SIGKILLed router comes back on its port.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import t from "tap";
import { Agent, request } from "undici";
import { processTree } from "../../bench/lib/proc.ts";
import type { DataPlaneState } from "../../common/state.ts";
import type { StatusSnapshot } from "../../common/status.ts";
import { runsEntry } from "../helpers/proc.ts";
import { ROOT, waitFor, watchChild } from "../helpers/processes.ts";
import { tempDir } from "../helpers/temp.ts";

const run = promisify(execFile);
const CLIENTS = 20;
const HOST = "steady.default.example.com";

const SERVICE = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: steady
spec:
  template:
    spec:
      containerConcurrency: 10
      containers:
        - command: ["node", "examples/hello/app.ts"]
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid of the component whose entry is `entry` among the descendants of `root`. */
function componentPid(root: number, entry: string): number | undefined {
  return processTree(root).find((pid) => {
    try {
      return runsEntry(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"), entry);
    } catch {
      return false;
    }
  });
}

/** `clients` loops of requests through the router until stopped; counts answers and failures. */
function steadyLoad(url: string, clients: number) {
  const dispatcher = new Agent({ connections: clients });
  const counts = { requests: 0, ok: 0, failed: 0 };
  const failures = new Map<string, number>();
  let stopped = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      counts.requests++;
      try {
        const res = await request(url, { dispatcher, headers: { host: HOST } });
        const body = await res.body.text();
        if (res.statusCode === 200) counts.ok++;
        else {
          counts.failed++;
          const why = `${res.statusCode} ${body.slice(0, 100)}`;
          failures.set(why, (failures.get(why) ?? 0) + 1);
        }
      } catch (error) {
        counts.failed++;
        const why = (error as { code?: string }).code ?? (error as Error).message;
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
    }
  });
  return {
    counts,
    failures,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(loops);
      await dispatcher.close();
    },
  };
}

t.test(
  "a SIGKILLed autoscaler is restarted on its port, keeps its pods, and no request fails; so is the router",
  async (t) => {
    const dir = tempDir(t, "sluice-up-supervision-");
    const file = join(dir, "steady.yaml");
    writeFileSync(file, SERVICE);
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "cli/main.ts",
        "up",
        "-f",
        file,
        "--state-dir",
        join(dir, "state"),
        "--router-port",
        "0",
        "--autoscaler-port",
        "0",
        "-v",
      ],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        // The app runs `node`: the same Node 24 as this test.
        env: { ...process.env, PATH: `${join(process.execPath, "..")}:${process.env.PATH}` },
      },
    );
    const up = watchChild(t, child);
    const banner = await waitFor(
      "the banner",
      () => (up.output().includes("Ctrl-C stops everything") ? up.output() : undefined),
      { timeoutMs: 60_000, everyMs: 100 },
    );
    const routerUrl = /router\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
    const autoscalerUrl = /autoscaler\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
    t.ok(routerUrl && autoscalerUrl, "the banner names the router and the autoscaler");
    let lastAnswer = "";
    const state = async () => {
      const res = await request(`${autoscalerUrl}/v1/state`);
      if (res.statusCode !== 200) {
        lastAnswer = `${res.statusCode} ${await res.body.text()}`;
        return undefined;
      }
      return (await res.body.json()) as DataPlaneState;
    };
    // Found by name: how the state keys revisions is not this test's business.
    const steady = (s: DataPlaneState | undefined) =>
      Object.values(s?.revisions ?? {}).find((revision) => revision.name === "steady-00001");
    const endpoints = (s: DataPlaneState | undefined) =>
      (steady(s)?.endpoints ?? []).map((e) => e.url).sort();

    const load = steadyLoad(`${routerUrl}/`, CLIENTS);
    t.teardown(() => load.stop());
    await waitFor("the load served", () => load.counts.ok >= 200, { timeoutMs: 60_000 });
    // Killed once the scale has settled, so that the pods before and after can be compared.
    let last: unknown;
    const before = await waitFor(
      "a settled scale",
      async () => {
        const revision = steady(await state());
        last = revision && { ...revision, endpoints: revision.endpoints.length };
        return revision && revision.endpoints.length > 0 && revision.endpoints.length === revision.desiredPods
          ? revision.endpoints.map((e) => e.url).sort()
          : undefined;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    ).catch((error) => {
      t.comment(`last revision: ${JSON.stringify(last)}; last answer: ${lastAnswer}`);
      throw error;
    });
    const autoscaler = componentPid(child.pid as number, "autoscaler/main.ts") as number;
    t.ok(autoscaler, `the autoscaler runs (pid ${autoscaler})`);
    t.match(up.output(), `autoscaler started (pid ${autoscaler})`, "-v names the component pids");
    const atKill = { ...load.counts };
    process.kill(autoscaler, "SIGKILL");

    await waitFor("the restart", () => /autoscaler restarted \(pid (\d+)\)/.test(up.output()), {
      timeoutMs: 30_000,
    });
    t.match(
      up.output(),
      "autoscaler exited (SIGKILL); restarting in 0.5 s (restart 1)",
      "the restart is logged",
    );
    const after = await waitFor("the state again", async () => endpoints(await state()), {
      timeoutMs: 30_000,
    });
    const restarted = componentPid(child.pid as number, "autoscaler/main.ts") as number;
    t.not(restarted, autoscaler, "a new autoscaler process");
    t.ok(
      before.every((url) => after.includes(url)),
      `the same pods (${before.length} before, ${after.length} after)`,
    );
    // The load goes on a while with the new autoscaler in charge.
    const atRestart = { ...load.counts };
    await waitFor("more load served", () => load.counts.ok >= atRestart.ok + 500, { timeoutMs: 60_000 });
    await load.stop();

    t.comment(
      `${load.counts.requests} requests from ${CLIENTS} clients, ${load.counts.failed} failed ` +
        `(${atRestart.requests - atKill.requests} between the kill and the new autoscaler's state)`,
    );
    if (load.failures.size > 0) t.comment(`failures: ${JSON.stringify(Object.fromEntries(load.failures))}`);
    t.equal(load.counts.failed, 0, "no request failed");

    // The new autoscaler was told of its own restart (sluice up reports again after it).
    const components = await waitFor(
      "the restart on /v1/status",
      async () => {
        const snapshot = (await (await request(`${autoscalerUrl}/v1/status`)).body.json()) as StatusSnapshot;
        const reported = snapshot.components?.find((component) => component.name === "autoscaler");
        return reported?.state === "running" && reported.restarts === 1 ? snapshot.components : undefined;
      },
      { timeoutMs: 10_000 },
    );
    t.match(
      components,
      [
        { name: "autoscaler", state: "running", pid: restarted, restarts: 1, lastExit: { code: "SIGKILL" } },
        { name: "activator", state: "running", restarts: 0 },
        { name: "router", state: "running", restarts: 0 },
      ],
      "every component, the autoscaler with its restart and how its last run ended",
    );

    const status = await run(process.execPath, ["cli/main.ts", "status", "--autoscaler", autoscalerUrl], {
      cwd: ROOT,
    });
    t.match(status.stdout, /steady-00001/, "sluice status works again");
    t.match(
      status.stdout,
      /components: autoscaler running \(1 restart, last exit SIGKILL at \d\d:\d\d:\d\d\), activator running, router running/,
      "sluice status names the restart",
    );

    // The router too comes back where clients know it.
    const router = componentPid(child.pid as number, "router/main.ts") as number;
    process.kill(router, "SIGKILL");
    await waitFor("the router's restart", () => /router restarted \(pid (\d+)\)/.test(up.output()), {
      timeoutMs: 30_000,
    });
    const answer = await waitFor(
      "an answer through the restarted router",
      async () => {
        const res = await request(`${routerUrl}/`, { headers: { host: HOST } });
        return res.statusCode === 200 ? res.body.text() : void (await res.body.dump());
      },
      { timeoutMs: 30_000 },
    );
    t.match(answer, /Hello from steady-00001/, `the router answers again on ${routerUrl}`);

    const processes = processTree(child.pid as number).slice(1);
    child.kill("SIGINT");
    t.equal(await up.exited, 0, "exits 0 on Ctrl-C");
    await waitFor("every process gone", () => processes.every((pid) => !alive(pid)), { timeoutMs: 20_000 });
    t.notMatch(up.output(), /restarting in .* \(restart 2\)/, "Ctrl-C restarts nothing");
  },
);

t.test("an autoscaler that keeps dying stops the whole with its last words, exit 1", async (t) => {
  const dir = tempDir(t, "sluice-up-dying-");
  const file = join(dir, "steady.yaml");
  writeFileSync(file, SERVICE);
  const stateDir = join(dir, "state");
  const child = spawn(
    process.execPath,
    [
      "cli/main.ts",
      "up",
      "-f",
      file,
      "--state-dir",
      stateDir,
      "--router-port",
      "0",
      "--autoscaler-port",
      "0",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const up = watchChild(t, child);
  await waitFor("the banner", () => up.output().includes("Ctrl-C stops everything"), {
    timeoutMs: 60_000,
    everyMs: 100,
  });
  // No request was made, so there are no pods to leave behind. A file where the state directory
  // was: every new autoscaler fails at once.
  rmSync(stateDir, { recursive: true, force: true });
  writeFileSync(stateDir, "not a directory\n");
  const processes = processTree(child.pid as number).slice(1);
  process.kill(componentPid(child.pid as number, "autoscaler/main.ts") as number, "SIGKILL");

  t.equal(await up.exited, 1, "exits 1");
  const output = up.output();
  t.match(output, "autoscaler exited (SIGKILL); restarting in 0.5 s (restart 1)");
  t.match(output, "autoscaler exited (1); restarting in 4 s (restart 4)");
  t.match(output, /sluice up: autoscaler exited \(1\) 5 times within 60 s; its last output:\n.*EEXIST/);
  t.match(output, "stopping the rest");
  await waitFor("every process gone", () => processes.every((pid) => !alive(pid)), { timeoutMs: 20_000 });
  t.pass("no process left behind");
});
