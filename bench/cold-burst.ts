// The cold burst: N requests at once to a revision at zero, through `sluice up` as a user runs it
// (its own default autoscaling settings, the local platform), answered by an app that takes
// 300 ms to boot and 20 ms per request (apps/cold-app.cjs). It reports what the client saw
// (statuses, latency percentiles) and what the machine paid (pods started, CPU of every sluice
// process and pod). `runColdBurst` is what `npm run bench` calls; `node bench/cold-burst.ts`
// prints one run's figures (`--help` for the options).
import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { request } from "undici";
import type { StatusSnapshot } from "../common/status.ts";
import { adopt } from "./lib/children.ts";
import { oneShotGet } from "./lib/one-shot-get.ts";
import { processTree } from "./lib/proc.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SERVICE = "cold";
const HOST = `${SERVICE}.default.example.com`;

export interface ColdBurstOptions {
  /** Requests sent at once (default 300). */
  requests?: number;
  /** The revision's containerConcurrency (default 4). */
  containerConcurrency?: number;
  /** How long the app takes to listen (default 300 ms). */
  bootMs?: number;
  /** How long the app takes per request (default 20 ms). */
  handlerMs?: number;
  /** Added to sluice up's environment, e.g. { SLUICE_LOCAL_MAX_PODS: "4" }. */
  env?: Record<string, string>;
  /** Extra `sluice up` arguments. */
  upArgs?: string[];
  /** Pods are still counted this long after the last answer: the ones a late decision starts (default 3 s). */
  settleMs?: number;
  /** A request unanswered this long counts as an error (default 60 s). */
  requestTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * Where to write where the time went: what sluice up printed (stamped in ms), each pod's start
   * and ready time, the revision's counts as they change, and when each request was answered.
   */
  traceFile?: string;
}

export interface ColdBurstResult {
  requests: number;
  /** Count per HTTP status; "error" for requests that got no response. */
  statuses: Record<string, number>;
  /** Per status other than 200 (and "error"): the first answer's body or error message, cut short. */
  firstFailure: Record<string, string>;
  /** Client-side latency of every request, ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The first answer, ms after the burst was sent. */
  first: number;
  /** Pods the platform started for the burst (including ones started after it was served). */
  podsStarted: number;
  /** Most pods running (started, not yet gone) at once. */
  peakPods: number;
  /** Most pods waiting for capacity at once (as GET /v1/status says; 0 without a capacity). */
  peakPending: number;
  /** Most pods the autoscaler asked for at once. */
  peakDesired: number;
  /** CPU of sluice up, its components and every pod, from the burst to the end of the settle time, s. */
  cpuSeconds: number;
  /** The burst to the end of the settle time, s. */
  wallSeconds: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const TICKS_PER_SECOND = 100;

/**
 * CPU seconds of a process tree so far, counting children it has reaped (cutime, cstime): a pod
 * that started and exited during the burst is in its parent's figure.
 */
function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${member}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone while we looked: its time is in its parent's cutime once reaped
    }
  }
  return ticks / TICKS_PER_SECOND;
}

function serviceYaml(
  options: Required<Pick<ColdBurstOptions, "containerConcurrency" | "bootMs" | "handlerMs">>,
) {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${SERVICE}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containerConcurrency: ${options.containerConcurrency}
      containers:
        - command: ${JSON.stringify([process.execPath, `${ROOT}bench/apps/cold-app.cjs`])}
          env:
            - { name: BOOT_MS, value: "${options.bootMs}" }
            - { name: HANDLER_MS, value: "${options.handlerMs}" }
`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`cold burst: ${what} within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

interface Up {
  child: ChildProcess;
  routerUrl: string;
  autoscalerUrl: string;
  output: () => string;
  /** Adds a line of the bench's own to the trace file, if there is one. */
  note(event: Record<string, unknown>): void;
  stop(): Promise<void>;
}

async function startUp(dir: string, file: string, options: ColdBurstOptions): Promise<Up> {
  const child = spawn(
    process.execPath,
    [
      "cli/main.ts",
      "up",
      "--state-dir",
      join(dir, "state"),
      "--router-port",
      "0",
      "--autoscaler-port",
      "0",
      "-f",
      file,
      ...(options.traceFile ? ["--verbose"] : []),
      ...(options.upArgs ?? []),
    ],
    { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  adopt(child);
  let output = "";
  let trace = options.traceFile ? openSync(options.traceFile, "w") : undefined;
  let partial = "";
  const take = (chunk: Buffer) => {
    output = (output + chunk).slice(-20_000);
    if (trace === undefined) return;
    // Stamped as they arrive, in ms: sluice up's own lines show whole seconds only.
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    const now = Date.now();
    for (const line of lines) writeSync(trace, `${now} ${line}\n`);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  child.once("close", () => {
    if (trace !== undefined) closeSync(trace);
    trace = undefined;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const banner = await until(
    "sluice up did not print its banner",
    () => {
      if (child.exitCode !== null) throw new Error(`sluice up exited ${child.exitCode}:\n${output}`);
      return output.includes("Ctrl-C stops everything") ? output : undefined;
    },
    60_000,
  );
  const url = (name: string) => {
    const found = new RegExp(`${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(banner)?.[1];
    if (!found) throw new Error(`cold burst: no ${name} URL in the banner:\n${banner}`);
    return found;
  };
  return {
    child,
    routerUrl: url("router"),
    autoscalerUrl: url("autoscaler"),
    output: () => output,
    note(event) {
      if (trace !== undefined) writeSync(trace, `${Date.now()} bench ${JSON.stringify(event)}\n`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

async function status(autoscalerUrl: string): Promise<StatusSnapshot> {
  const res = await request(`${autoscalerUrl}/v1/status`);
  return (await res.body.json()) as StatusSnapshot;
}

/** Runs one cold burst against a fresh `sluice up` and stops it again. */
export async function runColdBurst(options: ColdBurstOptions = {}): Promise<ColdBurstResult> {
  const requests = options.requests ?? 300;
  const settleMs = options.settleMs ?? 3000;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "sluice-cold-burst-"));
  const file = join(dir, "cold.yaml");
  writeFileSync(
    file,
    serviceYaml({
      containerConcurrency: options.containerConcurrency ?? 4,
      bootMs: options.bootMs ?? 300,
      handlerMs: options.handlerMs ?? 20,
    }),
  );
  const up = await startUp(dir, file, options);
  try {
    // At zero and known to the data plane: initial-scale 0 starts no pod.
    await until(
      "the service was not at zero",
      async () => {
        const revision = (await status(up.autoscalerUrl)).services.find((s) => s.name === SERVICE)
          ?.revisions[0];
        return revision && revision.pods === 0 && revision.desiredPods === 0 ? revision : undefined;
      },
      30_000,
    );
    log(`sluice up at ${up.autoscalerUrl}; sending ${requests} requests at once`);

    // Pods by their directories under the state dir: made when a pod's processes start, removed
    // when they are gone; names end in the pod's number, counted from 1 per revision.
    const podsDir = join(dir, "state", "pods");
    let podsStarted = 0;
    let peakPods = 0;
    let peakPending = 0;
    let peakDesired = 0;
    let watching = true;
    // Traced: each pod's start and first ready time, from its record (pod.json) as the platform wrote them.
    const traced = new Map<string, { startedAt?: number; readyAt?: number }>();
    const tracePod = (name: string) => {
      const seen = traced.get(name) ?? {};
      traced.set(name, seen);
      if (seen.readyAt !== undefined) return;
      try {
        const record = JSON.parse(readFileSync(join(podsDir, name, "pod.json"), "utf8")) as {
          startedAt?: number;
          readyAt?: number;
        };
        if (seen.startedAt === undefined && record.startedAt !== undefined) {
          seen.startedAt = record.startedAt;
          up.note({ msg: "pod started", pod: name, at: record.startedAt });
        }
        if (record.readyAt !== undefined) {
          seen.readyAt = record.readyAt;
          up.note({ msg: "pod ready", pod: name, at: record.readyAt });
        }
      } catch {
        // not written yet, or being rewritten
      }
    };
    const watchPods = (async () => {
      while (watching) {
        let names: string[] = [];
        try {
          names = readdirSync(podsDir).filter((name) => name.startsWith(`default_${SERVICE}-`));
        } catch {
          // not made yet
        }
        peakPods = Math.max(peakPods, names.length);
        for (const name of names) {
          podsStarted = Math.max(podsStarted, Number(name.slice(name.lastIndexOf("-") + 1)) || 0);
          if (options.traceFile) tracePod(name);
        }
        await sleep(10);
      }
    })();
    let lastStatus = "";
    const watchStatus = (async () => {
      while (watching) {
        try {
          for (const revision of (await status(up.autoscalerUrl)).services.find((s) => s.name === SERVICE)
            ?.revisions ?? []) {
            peakDesired = Math.max(peakDesired, revision.desiredPods);
            const line = `desired ${revision.desiredPods} pods ${revision.pods} ready ${revision.readyPods} pending ${(revision as { pendingPods?: number }).pendingPods ?? 0} ${revision.mode}`;
            if (options.traceFile && line !== lastStatus) up.note({ msg: "status", status: line });
            lastStatus = line;
            peakPending = Math.max(peakPending, (revision as { pendingPods?: number }).pendingPods ?? 0);
          }
        } catch {
          // a busy autoscaler: the next poll
        }
        await sleep(100);
      }
    })();

    const cpuBefore = treeCpuSeconds(up.child.pid as number);
    const routerPort = Number(new URL(up.routerUrl).port);
    const started = performance.now();
    up.note({ msg: "burst sent", requests });
    const statuses: Record<string, number> = {};
    const firstFailure: Record<string, string> = {};
    const latencies = await Promise.all(
      Array.from({ length: requests }, async () => {
        let code = "error";
        try {
          const res = await oneShotGet(routerPort, HOST, "/", timeoutMs);
          code = String(res.status);
          // What went wrong is kept once per status, so a run that fails says why.
          if (res.status !== 200) firstFailure[code] ??= res.body.trim().slice(0, 200);
        } catch (error) {
          // No whole response ("error").
          firstFailure[code] ??= (error as Error).message;
        }
        statuses[code] = (statuses[code] ?? 0) + 1;
        return performance.now() - started;
      }),
    );
    up.note({ msg: "burst answered", answeredMs: latencies.map(Math.round) });
    log(
      `answered in ${(Math.max(...latencies) / 1000).toFixed(2)} s; watching pods for ${settleMs / 1000} s more`,
    );
    await sleep(settleMs);
    const cpuSeconds = treeCpuSeconds(up.child.pid as number) - cpuBefore;
    const wallSeconds = (performance.now() - started) / 1000;
    watching = false;
    await Promise.all([watchPods, watchStatus]);

    const sorted = latencies.sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms);
    return {
      requests,
      statuses,
      firstFailure,
      p50: round(percentile(sorted, 0.5)),
      p90: round(percentile(sorted, 0.9)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted[sorted.length - 1] ?? 0),
      first: round(sorted[0] ?? 0),
      podsStarted,
      peakPods,
      peakPending,
      peakDesired,
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      wallSeconds: Math.round(wallSeconds * 100) / 100,
    };
  } finally {
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const USAGE = `usage: node bench/cold-burst.ts [options]

Starts sluice up on free ports with a service at zero (containerConcurrency 4, an app that boots
in 300 ms and answers in 20 ms), sends all requests at once through the router, and prints the
statuses, latency percentiles, pods started and CPU used; then stops everything.

options:
  --requests N          requests sent at once (default 300)
  --concurrency N       the revision's containerConcurrency (default 4)
  --boot-ms MS          the app's boot time (default 300)
  --handler-ms MS       the app's time per request (default 20)
  --max-pods N          the local platform's capacity (SLUICE_LOCAL_MAX_PODS; default: the machine's)
  --runs N              repeat on a fresh sluice up each time (default 1)
  --trace FILE          write to FILE where the time went: sluice up's log (--verbose) stamped in
                        ms, each pod's start and ready time, the revision's desired, pending and
                        ready pods as they change, and when each request was answered
  --json                one JSON line per run instead of text
  -h, --help            this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: "string" },
      concurrency: { type: "string" },
      "boot-ms": { type: "string" },
      "handler-ms": { type: "string" },
      "max-pods": { type: "string" },
      runs: { type: "string" },
      trace: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const number = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0)
      throw new Error(`--${flag} ${value}: expected a whole number`);
    return parsed;
  };
  const maxPods = number("max-pods", values["max-pods"]);
  const runs = number("runs", values.runs) ?? 1;
  for (let run = 1; run <= runs; run++) {
    const result = await runColdBurst({
      requests: number("requests", values.requests),
      containerConcurrency: number("concurrency", values.concurrency),
      bootMs: number("boot-ms", values["boot-ms"]),
      handlerMs: number("handler-ms", values["handler-ms"]),
      env: maxPods === undefined ? {} : { SLUICE_LOCAL_MAX_PODS: String(maxPods) },
      traceFile: values.trace,
      log: values.json ? undefined : (line) => console.log(line),
    });
    if (values.json) {
      console.log(JSON.stringify(result));
      continue;
    }
    const codes = Object.entries(result.statuses)
      .map(([code, count]) => `${count}× ${code}`)
      .join(", ");
    console.log(
      `cold burst: ${codes}; p50 ${result.p50} ms, p90 ${result.p90} ms, p99 ${result.p99} ms, max ${result.max} ms, first ${result.first} ms\n` +
        `pods: ${result.podsStarted} started, at most ${result.peakPods} at once, ${result.peakPending} pending, ${result.peakDesired} desired; ` +
        `CPU ${result.cpuSeconds} s in ${result.wallSeconds} s`,
    );
    for (const [code, first] of Object.entries(result.firstFailure))
      console.log(`  ${code}, the first: ${first}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`cold burst: ${(error as Error).message}`);
    process.exit(1);
  });
}
