// How fast each component starts and how much memory it holds idle, from its TypeScript sources
// and from its prebuilt bundle (dist/, `npm run build`), with the settings sluice up gives it
// (common/prebuilt.ts componentLaunch):
//
//   node scripts/measure-start.ts [--runs N] [--idle-ms MS] [component…]
//
// For each run: the time from spawn() to the component's {type: "listening"} IPC message, the CPU
// it had used by then (all its threads, from /proc/<pid>/task/*/schedstat), and after MS of idling
// its RSS, the private (anonymous) part of it and its PSS (shared pages, such as the node binary's
// code, divided among the processes that map them). Prints the median and the range of each.
// Linux only. Wall times mean little on a loaded machine: the CPU figures do not depend on load.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentLaunch, prebuiltEntry, ROOT, staleness } from "../common/prebuilt.ts";

const COMPONENTS = ["queue-proxy", "router", "activator", "autoscaler"] as const;
type Component = (typeof COMPONENTS)[number];

interface Sample {
  listeningMs: number;
  cpuMs: number;
  rssMb: number;
  anonMb: number;
  pssMb: number;
}

function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {} // a thread that ended meanwhile
  }
  return ns / 1e6;
}

function kb(text: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN) / 1024;
}

function memory(pid: number): Pick<Sample, "rssMb" | "anonMb" | "pssMb"> {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return { rssMb: kb(status, "VmRSS"), anonMb: kb(status, "RssAnon"), pssMb: kb(rollup, "Pss") };
}

function environment(component: Component, appPort: number, stateDir: string): Record<string, string> {
  const common = { LOG_LEVEL: "warn", SLUICE_HOP_SECRET: "measure-start-hop-secret-0123456789" };
  const nowhere = "http://127.0.0.1:1";
  switch (component) {
    case "queue-proxy":
      return {
        ...common,
        USER_PORT: String(appPort),
        QUEUE_SERVING_PORT: "0",
        QUEUE_ADMIN_PORT: "0",
        QUEUE_METRICS_PORT: "-1", // as the local platform starts it
        SERVING_SERVICE: "measure",
        SERVING_REVISION: "measure-00001",
      };
    case "router":
      return {
        ...common,
        ROUTER_PORT: "0",
        ROUTER_ADMIN_PORT: "0",
        AUTOSCALER_URL: nowhere,
        ACTIVATOR_URL: nowhere,
      };
    case "activator":
      return { ...common, ACTIVATOR_PORT: "0", ACTIVATOR_ADMIN_PORT: "0", AUTOSCALER_URL: nowhere };
    case "autoscaler":
      return { ...common, AUTOSCALER_PORT: "0", SLUICE_STATE_DIR: stateDir };
  }
}

async function once(
  entry: string,
  nodeArgs: string[],
  env: Record<string, string>,
  idleMs: number,
): Promise<Sample> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, entry], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  try {
    const { listeningMs, cpu } = await new Promise<{ listeningMs: number; cpu: number }>(
      (resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`${entry} exited with ${code} before listening`)));
        child.on("message", (message: { type?: string }) => {
          if (message?.type !== "listening") return;
          resolve({ listeningMs: performance.now() - started, cpu: cpuMs(child.pid as number) });
        });
      },
    );
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    return { listeningMs, cpuMs: cpu, ...memory(child.pid as number) };
  } finally {
    child.kill("SIGKILL");
  }
}

function summary(values: number[], digits = 0): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const range = `${sorted[0].toFixed(digits)}–${(sorted.at(-1) as number).toFixed(digits)}`;
  return `${median.toFixed(digits)} (${range})`;
}

async function main(argv: string[]): Promise<void> {
  let runs = 5;
  let idleMs = 2000;
  const chosen: Component[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runs") runs = Number(argv[++i]);
    else if (argv[i] === "--idle-ms") idleMs = Number(argv[++i]);
    else if ((COMPONENTS as readonly string[]).includes(argv[i])) chosen.push(argv[i] as Component);
    else
      throw new Error(
        `unknown argument ${argv[i]}: expected --runs N, --idle-ms MS or ${COMPONENTS.join(", ")}`,
      );
  }
  const app = createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
  await new Promise((resolve) => app.once("listening", resolve));
  const appPort = (app.address() as AddressInfo).port;
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-measure-"));
  const stale = staleness();
  console.log(
    `node ${process.version}, ${runs} runs each, idle ${idleMs} ms; median (range)` +
      (stale ? `; no bundle: ${stale} (npm run build)` : ""),
  );
  try {
    for (const component of chosen.length > 0 ? chosen : COMPONENTS) {
      const source = join(ROOT, component, "main.ts");
      // The settings sluice up runs the component with (the data path's memory settings).
      const launch = componentLaunch([source]);
      const nodeArgs = launch.args.slice(0, -1);
      const variants: [string, string | undefined][] = [
        ["source", source],
        ["bundle", prebuiltEntry(source)],
      ];
      for (const [variant, entry] of variants) {
        if (entry === undefined) continue;
        const samples: Sample[] = [];
        for (let run = 0; run < runs; run++)
          samples.push(
            await once(
              entry,
              nodeArgs,
              { ...environment(component, appPort, stateDir), ...launch.env },
              idleMs,
            ),
          );
        const of = (key: keyof Sample, digits = 0) =>
          summary(
            samples.map((s) => s[key]),
            digits,
          );
        console.log(
          `${component.padEnd(11)} ${variant.padEnd(6)} listening ${of("listeningMs")} ms, CPU ${of("cpuMs")} ms, ` +
            `idle RSS ${of("rssMb", 1)} MB (private ${of("anonMb", 1)}, PSS ${of("pssMb", 1)})`,
        );
      }
    }
  } finally {
    app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
