// `sluice up` as a child process for fault tests: Service files written to a temporary directory,
// free ports, a temporary state directory, fast autoscaling settings, and handles on what it runs
// (component pids and admin ports from /proc, the state, manifests applied over the API).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import type { DataPlaneState, RevisionState } from "../../common/state.ts";
import { findProcesses, listeningPorts, runsEntry } from "./proc.ts";
import { ROOT, waitFor, watchChild } from "./processes.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SluiceUp {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  routerUrl: string;
  routerPort: number;
  autoscalerUrl: string;
  activatorUrl: string;
  /** pid of a component process (router, activator, autoscaler). */
  pid(component: "router" | "activator" | "autoscaler"): number;
  /** The admin URL (/healthz, /metrics) of the router or activator. */
  adminUrl(component: "router" | "activator"): string;
  state(): Promise<DataPlaneState>;
  /** PUT /v1/services with a YAML content type; throws unless 200. */
  apply(yaml: string): Promise<void>;
  /** The queue-proxy and app pids of a pod (by its name in the state). */
  podPids(pod: string): { queueProxy: number; app: number | undefined };
  /** Waits until the router routes by the autoscaler's current state (its generation or a later one). */
  routerCaughtUp(): Promise<void>;
  /** Waits until `revision` has `count` ready endpoints in the state. */
  waitForEndpoints(revision: string, count: number, timeoutMs?: number): Promise<DataPlaneState>;
}

/** A revision of the state by name, whether the state keys revisions by name or namespace/name. */
export function revisionOf(state: DataPlaneState, name: string): RevisionState | undefined {
  return state.revisions[name] ?? Object.values(state.revisions).find((r) => r.name === name);
}

/** Fast autoscaling for tests: quarter-second ticks and stats, a short grace period to zero. */
export const FAST_AUTOSCALING: Record<string, string> = {
  AUTOSCALER_TICK_SECONDS: "0.25",
  SCALE_TO_ZERO_GRACE_SECONDS: "0.5",
  ACTIVATOR_STATS_INTERVAL_SECONDS: "0.25",
};

/** A `sluice up` child whose banner is out: what launchSluiceUp gives its callers. */
export interface LaunchedUp {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  banner: string;
}

/**
 * Runs `sluice up -f <files> <flags>` on free ports, its state in a temporary directory (`prefix`),
 * with fast autoscaling and `env`; resolves once its banner is out. At teardown it gets SIGTERM
 * and `stopGraceMs` to go.
 */
export async function launchSluiceUp(
  t: Teardown,
  files: string[],
  env: Record<string, string>,
  { flags = [] as string[], prefix = "sluice-faults-", stopGraceMs = 5000 } = {},
): Promise<LaunchedUp> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    "cli/main.ts",
    "up",
    "--state-dir",
    join(dir, "state"),
    "--router-port",
    "0",
    "--autoscaler-port",
    "0",
  ];
  files.forEach((text, i) => {
    const file = join(dir, `service-${i}.yaml`);
    writeFileSync(file, text);
    args.push("-f", file);
  });
  args.push(...flags);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...FAST_AUTOSCALING,
      ...env,
      PATH: `${join(process.execPath, "..")}:${process.env.PATH}`,
    },
  });
  const watched = watchChild(t, child);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([watched.exited, new Promise((resolve) => setTimeout(resolve, stopGraceMs))]);
    }
  });
  const banner = await waitFor(
    "the sluice up banner",
    () => {
      if (child.exitCode !== null)
        throw new Error(`sluice up exited ${child.exitCode}:\n${watched.output()}`);
      return watched.output().includes("Ctrl-C stops everything") ? watched.output() : undefined;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );
  return { child, ...watched, banner };
}

/** Runs `sluice up -f <files>` on free ports; resolves once its banner is out. */
export async function startSluiceUp(
  t: Teardown,
  files: string[],
  env: Record<string, string> = {},
): Promise<SluiceUp> {
  const { child, banner, ...watched } = await launchSluiceUp(t, files, env);
  const url = (name: string) =>
    new RegExp(`${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(banner)?.[1] as string;
  const routerUrl = url("router");
  const autoscalerUrl = url("autoscaler");
  const activatorUrl = url("activator");
  const pidOf = (entry: string) => {
    const [pid] = findProcesses(child.pid as number, (p) => runsEntry(p.cmdline, entry));
    if (pid === undefined) throw new Error(`no ${entry} under sluice up`);
    return pid.pid;
  };
  const pids = {
    router: pidOf("router/main.ts"),
    activator: pidOf("activator/main.ts"),
    autoscaler: pidOf("autoscaler/main.ts"),
  };
  const portOf = (u: string) => Number(new URL(u).port);
  const adminPort = (component: "router" | "activator") => {
    const servingPort = portOf(component === "router" ? routerUrl : activatorUrl);
    const other = listeningPorts(pids[component]).filter((port) => port !== servingPort);
    if (other.length !== 1)
      throw new Error(`${component}: expected one admin port, found ${other.join(", ")}`);
    return other[0];
  };
  const admin = { router: adminPort("router"), activator: adminPort("activator") };
  const state = async () =>
    (await (await request(`${autoscalerUrl}/v1/state`)).body.json()) as DataPlaneState;
  return {
    child,
    ...watched,
    routerUrl,
    routerPort: portOf(routerUrl),
    autoscalerUrl,
    activatorUrl,
    pid: (component) => pids[component],
    adminUrl: (component) => `http://127.0.0.1:${admin[component]}`,
    state,
    apply: async (yaml) => {
      const res = await request(`${autoscalerUrl}/v1/services`, {
        method: "PUT",
        body: yaml,
        headers: { "content-type": "application/yaml" },
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`apply: ${res.statusCode} ${text}`);
    },
    routerCaughtUp: async () => {
      const { generation } = await state();
      await waitFor(`the router at generation ${generation}`, async () => {
        const metrics = await (await request(`http://127.0.0.1:${admin.router}/metrics`)).body.text();
        const seen = /sluice_router_state_generation (\d+)/.exec(metrics)?.[1];
        return seen !== undefined && Number(seen) >= generation;
      });
    },
    podPids: (pod) => {
      const [queueProxy] = findProcesses(child.pid as number, (p) => p.environ.SERVING_POD === pod);
      if (!queueProxy) throw new Error(`no queue-proxy for pod ${pod}`);
      const userPort = queueProxy.environ.USER_PORT;
      const [app] = findProcesses(
        child.pid as number,
        (p) => p.environ.PORT === userPort && p.environ.K_REVISION !== undefined,
      );
      return { queueProxy: queueProxy.pid, app: app?.pid };
    },
    waitForEndpoints: (revision, count, timeoutMs = 30_000) =>
      waitFor(
        `${revision} at ${count} ready pods`,
        async () => {
          const current = await state();
          return revisionOf(current, revision)?.endpoints.length === count ? current : undefined;
        },
        { timeoutMs, everyMs: 100 },
      ),
  };
}
