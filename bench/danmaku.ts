// npm run bench -- danmaku: examples/danmaku under load, as a user runs it (`sluice up -f
// examples/danmaku/`, its own Kafka and nats-server). autocannon posts comments to danmaku-web
// through the router — COMMENTS of them at most, for --duration seconds at most, from 64 viewers
// (Kafka record keys, so the topic's partitions all carry some), one in ten with a blocked word —
// while the autoscaler's status API (GET /v1/status) is read every 250 ms for the `moderate`
// revision's pods. Then it waits (bounded) until the KafkaSource has moderated every comment
// Kafka took, and until `moderate` is back at zero pods. Reports the posting rate and errors, the
// end-to-end moderation rate, moderate's peak pods and how long its return to zero took.
//
// Twice, both from moderate at zero (so both include its scale-out): a warm-up round first
// (WARMUP_SECONDS), which meets a Kafka JVM and Node processes that have compiled nothing yet (one
// run here posted ~50 comments/s in it), then the measured one (--duration). On a 2-core machine
// every comment costs the posting path (router, queue-proxy, web, Kafka) and, at the same time,
// the moderation path (KafkaSource, router, queue-proxy, moderate, Broker, Trigger, router,
// queue-proxy, web) and moderate's pod starts: the figures are the whole example's, not one hop's.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { request } from "undici";
import type { RevisionStatus, StatusSnapshot } from "../common/status.ts";
import { adopt } from "./lib/children.ts";
import type { BenchOptions } from "./lib/options.ts";
import { saveResults } from "./lib/results.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const HOST = "danmaku-web.default.example.com";
const COMMENTS = 40_000;
const CONNECTIONS = 64;
const VIEWERS = 64;
const BLOCKED_EVERY = 10;
const START_TIMEOUT_MS = 180_000;
const DRAIN_TIMEOUT_MS = 180_000;
const ZERO_TIMEOUT_MS = 240_000;
const POLL_MS = 250;
const WARMUP_SECONDS = 10;

interface Up {
  child: ChildProcess;
  output: () => string;
  routerUrl: string;
  autoscalerUrl: string;
  eventingAdminUrl: string;
}

async function startSluiceUp(stateDir: string): Promise<Up> {
  const child = spawn(
    process.execPath,
    [
      "cli/main.ts",
      "up",
      "-f",
      "examples/danmaku/",
      "--state-dir",
      stateDir,
      "--router-port",
      "0",
      "--autoscaler-port",
      "0",
      "--eventing-port",
      "0",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  adopt(child);
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output.includes("Ctrl-C stops everything")) {
    if (child.exitCode !== null) throw new Error(`sluice up exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`sluice up did not start in time:\n${output}`);
    await sleep(100);
  }
  const url = (name: string) => {
    const found = new RegExp(`${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(output)?.[1];
    if (!found) throw new Error(`no ${name} URL in the banner:\n${output}`);
    return found;
  };
  return {
    child,
    output: () => output,
    routerUrl: url("router"),
    autoscalerUrl: url("autoscaler"),
    eventingAdminUrl: url("eventing"),
  };
}

/** SIGTERM, and a bounded wait for sluice up to stop what it runs (pods, Kafka, nats-server). */
async function stopSluiceUp(up: Up): Promise<void> {
  if (up.child.exitCode !== null) return;
  const exited = new Promise((resolve) => up.child.once("exit", resolve));
  up.child.kill("SIGTERM");
  await Promise.race([exited, sleep(40_000)]);
}

async function moderateRevision(autoscalerUrl: string): Promise<RevisionStatus | undefined> {
  const res = await request(`${autoscalerUrl}/v1/status`);
  const status = (await res.body.json()) as StatusSnapshot;
  return status.services.find((s) => s.name === "moderate")?.revisions[0];
}

interface SourceCounts {
  delivered: number;
  dropped: number;
  deadLettered: number;
}

async function moderated(eventingAdminUrl: string): Promise<number> {
  const res = await request(`${eventingAdminUrl}/v1/eventing`);
  const status = (await res.body.json()) as { sources?: { name: string; counts: SourceCounts }[] };
  const counts = status.sources?.find((s) => s.name === "danmaku-comments")?.counts;
  return counts ? counts.delivered + counts.dropped + counts.deadLettered : 0;
}

/** Reads moderate's pods every POLL_MS until stopped; keeps the peaks. */
function watchPods(autoscalerUrl: string) {
  const peak = { pods: 0, readyPods: 0, desiredPods: 0 };
  let last: RevisionStatus | undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      last = await moderateRevision(autoscalerUrl).catch(() => last);
      if (last) {
        peak.pods = Math.max(peak.pods, last.pods);
        peak.readyPods = Math.max(peak.readyPods, last.readyPods);
        peak.desiredPods = Math.max(peak.desiredPods, last.desiredPods);
      }
      await sleep(POLL_MS);
    }
  })();
  return {
    peak,
    last: () => last,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

interface Posted {
  accepted: number;
  errors: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/** autocannon: at most COMMENTS comments, for at most `seconds`. */
function postComments(routerUrl: string, seconds: number): Promise<Posted> {
  let n = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${routerUrl}/comments`,
        connections: CONNECTIONS,
        amount: COMMENTS,
        headers: { host: HOST, "content-type": "application/json" },
        requests: [
          {
            method: "POST",
            setupRequest: (req) => {
              const i = n++;
              const text = i % BLOCKED_EVERY === 0 ? `spoiler ${i}` : `comment ${i}`;
              return { ...req, body: JSON.stringify({ text, viewer: `bench-${i % VIEWERS}` }) };
            },
          },
        ],
      },
      (error, result) => {
        clearTimeout(bound);
        if (error) return reject(error);
        resolve({
          accepted: result["2xx"],
          errors: result.errors + result.timeouts + result.non2xx,
          seconds: result.duration,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
        });
      },
    );
    // `amount` ends the run; this bounds its time.
    const bound = setTimeout(() => instance.stop(), seconds * 1000);
  });
}

async function waitFor<T>(timeoutMs: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(POLL_MS);
  }
  return undefined;
}

interface Round {
  posted: Posted;
  postsPerSecond: number;
  /** Comments the KafkaSource delivered (or dropped) in the round; may exceed posted.accepted by
   * the posts in flight when the time bound stopped the clients. */
  moderated: number;
  /** From the first post until every comment was moderated; undefined: not within the bound. */
  secondsToModerateAll: number | undefined;
  moderatedPerSecond: number | undefined;
  moderate: {
    podsBefore: number | undefined;
    peak: { pods: number; readyPods: number; desiredPods: number };
    /** From the end of moderation to zero pods; undefined: not within the bound. */
    backToZeroSeconds: number | undefined;
  };
}

/** One round: post for `seconds`, wait until all is moderated, then until moderate is at zero. */
async function loadRound(up: Up, seconds: number): Promise<Round> {
  const { routerUrl, autoscalerUrl, eventingAdminUrl } = up;
  const before = await moderateRevision(autoscalerUrl);
  const atStart = await moderated(eventingAdminUrl);
  const pods = watchPods(autoscalerUrl);
  const started = performance.now();
  const posted = await postComments(routerUrl, seconds);
  console.log(
    `  posted ${posted.accepted} in ${posted.seconds.toFixed(1)} s; waiting for moderate to catch up…`,
  );
  const drained = await waitFor(DRAIN_TIMEOUT_MS, async () =>
    (await moderated(eventingAdminUrl)) >= atStart + posted.accepted ? performance.now() : undefined,
  );
  const secondsToModerateAll = drained === undefined ? undefined : (drained - started) / 1000;
  const afterLoad = performance.now();
  console.log("  waiting for moderate to be back at zero…");
  const atZero = await waitFor(ZERO_TIMEOUT_MS, async () => {
    const revision = pods.last();
    return revision && revision.pods === 0 && revision.desiredPods === 0 ? performance.now() : undefined;
  });
  await pods.stop();
  return {
    posted,
    postsPerSecond: posted.accepted / posted.seconds,
    moderated: (await moderated(eventingAdminUrl)) - atStart,
    secondsToModerateAll,
    moderatedPerSecond:
      secondsToModerateAll === undefined ? undefined : posted.accepted / secondsToModerateAll,
    moderate: {
      podsBefore: before?.pods,
      peak: pods.peak,
      backToZeroSeconds: atZero === undefined ? undefined : (atZero - afterLoad) / 1000,
    },
  };
}

const fixed = (n: number | undefined, digits = 0) => (n === undefined ? "—" : n.toFixed(digits));

function report(name: string, round: Round): string {
  const { posted, moderate } = round;
  return `${name}
  posted           ${posted.accepted} comments in ${fixed(posted.seconds, 1)} s: ${fixed(round.postsPerSecond)} /s, errors ${posted.errors}, p50 ${posted.p50Ms} ms, p99 ${posted.p99Ms} ms
  moderated        ${round.moderated} (KafkaSource → moderate); all ${round.secondsToModerateAll === undefined ? `NOT within ${DRAIN_TIMEOUT_MS / 1000} s` : `${fixed(round.secondsToModerateAll, 1)} s after the first post: ${fixed(round.moderatedPerSecond)} /s end to end`}
  moderate pods    ${moderate.podsBefore ?? "?"} before; peak ${moderate.peak.pods} (ready ${moderate.peak.readyPods}, desired ${moderate.peak.desiredPods})
  back to zero     ${moderate.backToZeroSeconds === undefined ? `NOT within ${ZERO_TIMEOUT_MS / 1000} s` : `${fixed(moderate.backToZeroSeconds)} s after moderation ended`}`;
}

export async function benchDanmaku(options: BenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-danmaku-"));
  let up: Up | undefined;
  try {
    console.log("starting sluice up -f examples/danmaku/ (Kafka takes 15–30 s)…");
    up = await startSluiceUp(join(dir, "state"));
    const page = await request(`${up.routerUrl}/`, { headers: { host: HOST } });
    await page.body.dump();
    if (page.statusCode !== 200) throw new Error(`danmaku-web's page: ${page.statusCode}`);
    console.log(`warm-up: ${WARMUP_SECONDS} s of comments…`);
    const warmup = await loadRound(up, WARMUP_SECONDS);
    console.log(`measured: up to ${COMMENTS} comments for up to ${options.seconds} s…`);
    const measured = await loadRound(up, options.seconds);
    console.log(`
danmaku under load (sluice up -f examples/danmaku/; ${CONNECTIONS} clients, ${VIEWERS} viewers, 1 in ${BLOCKED_EVERY} blocked)
${report("warm-up round (Kafka's JVM and the Node processes compiling)", warmup)}
${report("measured round", measured)}`);
    console.log(`results: ${saveResults("danmaku", { warmup, measured })}`);
  } finally {
    if (up) await stopSluiceUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
}
