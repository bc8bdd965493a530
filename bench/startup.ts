// The queue-proxy's start, per data path, as the local platform runs it (the prebuilt bundle when
// fresh, else the source): milliseconds from spawn until its serving port accepts a
// connection, the CPU it used to get there, and its RSS once ready and idle. Samples of the paths
// alternate (node, raw, node, raw…) so a busy moment does not land on one path only.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { freePorts } from "../common/free-port.ts";
import { componentLaunch, preferPrebuilt } from "../common/prebuilt.ts";
import { adopt } from "./lib/children.ts";
import { type DataPath, dataPathEnv } from "./lib/data-path.ts";
import type { StartupFigures } from "./lib/goals.ts";
import { cpuMicros, memoryMb } from "./lib/proc.ts";
import { type BenchProcesses, QUEUE_PROXY_MAIN, queueProxyEnv } from "./lib/processes.ts";
import { answers200, portAnswers } from "./lib/ready.ts";
import { median } from "./lib/stats.ts";
import { fixed } from "./lib/table.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const START_TIMEOUT_MS = 15_000;
/** The idle of the starts: ready, then 1 s. */
const IDLE_MS = 1000;
/**
 * The long idle, one start per path: past the first optimizing compile that the queue-proxy's own
 * readiness probes (one a second) bring on after ~50 s (node's internal debuglog no-op:
 * docs/prebuilt.md), which pulls V8's TurboFan code (pages of the node binary) into its RSS with
 * no request served.
 */
const LONG_IDLE_MS = 60_000;

export interface StartupSample {
  path: DataPath;
  listenMs: number;
  cpuMs: number;
  idleRssMb: number;
}

async function until(check: () => Promise<boolean>, intervalMs: number, what: string): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what} within ${START_TIMEOUT_MS / 1000} s`);
    await sleep(intervalMs);
  }
}

async function sample(
  appPort: number,
  path: DataPath,
  socket: string,
  idleMs = IDLE_MS,
): Promise<StartupSample> {
  const [port, adminPort] = await freePorts(2);
  const started = performance.now();
  // What the local platform spawns: the prebuilt bundle when fresh (npm install builds it), with
  // the data path's memory settings, serving on a Unix socket beside its port.
  const launch = componentLaunch([QUEUE_PROXY_MAIN]);
  const child = spawn(process.execPath, launch.args, {
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      ...queueProxyEnv(appPort, port, adminPort),
      QUEUE_SERVING_SOCKET: socket,
      ...dataPathEnv(path),
      ...launch.env,
    },
    stdio: "ignore",
  });
  adopt(child);
  try {
    const pid = child.pid as number;
    await until(portAnswers(port), 2, "the queue-proxy did not listen");
    const listenMs = performance.now() - started;
    const cpuMs = cpuMicros(pid) / 1000;
    await until(answers200(`http://127.0.0.1:${adminPort}/readyz`), 20, "the queue-proxy was not ready");
    await sleep(idleMs);
    return { path, listenMs, cpuMs, idleRssMb: memoryMb(pid).rss };
  } finally {
    child.kill("SIGKILL");
  }
}

export interface StartupOptions {
  /** Starts per path (their medians are the figures). */
  count?: number;
  /** Also one start per path left idle this long (all paths at once), then its RSS; 0: none. */
  longIdleMs?: number;
}

/**
 * `count` starts per path, alternating paths, and the long idle; the medians per path, printed
 * and returned. Every queue-proxy probes its app over TCP, the default probe.
 */
export async function benchStartup(
  processes: BenchProcesses,
  paths: readonly DataPath[],
  { count = 5, longIdleMs = LONG_IDLE_MS }: StartupOptions = {},
): Promise<{ figures: StartupFigures[]; samples: StartupSample[] }> {
  const app = await processes.app();
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  const samples: StartupSample[] = [];
  let long: StartupSample[] = [];
  try {
    process.stderr.write("queue-proxy starts");
    for (let i = 0; i < count; i++)
      for (const path of paths) {
        samples.push(await sample(app.port, path, join(dir, `${samples.length}.sock`)));
        process.stderr.write(".");
      }
    process.stderr.write("\n");
    if (longIdleMs > 0) {
      process.stderr.write(`queue-proxy idle ${longIdleMs / 1000} s, one per path at once…\n`);
      long = await Promise.all(
        paths.map((path) => sample(app.port, path, join(dir, `long-${path}.sock`), longIdleMs)),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const figures = paths.map((path) => {
    const mine = samples.filter((s) => s.path === path);
    const longOne = long.find((s) => s.path === path);
    return {
      path,
      listenMs: median(mine.map((s) => s.listenMs)),
      cpuMs: median(mine.map((s) => s.cpuMs)),
      idleRssMb: median(mine.map((s) => s.idleRssMb)),
      ...(longOne === undefined ? {} : { longIdleRssMb: longOne.idleRssMb }),
    };
  });
  const runs =
    preferPrebuilt([QUEUE_PROXY_MAIN])[0] === QUEUE_PROXY_MAIN
      ? "source (no fresh bundle)"
      : "prebuilt bundle";
  console.log(
    `\nqueue-proxy start, ${runs} (median of ${count} per path; spawn → serving port accepts; ` +
      "its app probed over TCP every second):",
  );
  for (const f of figures)
    console.log(
      `  [${f.path}] listening after ${fixed(f.listenMs, 0)} ms, ${fixed(f.cpuMs, 0)} ms CPU to get there, ` +
        `${fixed(f.idleRssMb, 1)} MB RSS once ready and idle 1 s` +
        (f.longIdleRssMb === undefined
          ? ""
          : `; ${fixed(f.longIdleRssMb, 1)} MB after ${longIdleMs / 1000} s idle (one start)`),
    );
  return { figures, samples };
}
