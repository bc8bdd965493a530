// A real Kubernetes control plane for tests, started the way controller-runtime's envtest does:
// etcd, kube-apiserver and (optionally) kube-controller-manager as local processes on free
// loopback ports, built by scripts/tools/build.sh and cached outside the repo. No kubelet and no
// scheduler run: test-node.ts stands in for both.
//
// API calls go through @kubernetes/client-node (the platform's own Kubernetes client later), so
// the harness exercises the same client the product uses; readiness checks are plain fetches.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { Agent, fetch } from "undici";
import { freePort, freePorts } from "../../../common/free-port.ts";
import { ROOT, waitFor } from "../processes.ts";
import { skipUnlessTool } from "../required-tool.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const KUBE_TOOLS = ["etcd", "kube-apiserver", "kube-controller-manager"] as const;

/** The tools cache root (`SLUICE_TOOLS_CACHE`, default ~/.cache/sluice), as build.sh uses it. */
export function toolsCache(): string {
  return process.env.SLUICE_TOOLS_CACHE || join(homedir(), ".cache", "sluice");
}

function toolPath(tool: string): string {
  return join(toolsCache(), "bin", tool);
}

function missingTools(): string[] {
  return KUBE_TOOLS.filter((tool) => !existsSync(toolPath(tool)));
}

let ensured: Promise<string | undefined> | undefined;

/**
 * Makes sure etcd, kube-apiserver and kube-controller-manager are built: when any is missing it
 * runs scripts/tools/build.sh for them (a first build takes about 13 minutes on 2 cores; its
 * progress goes to stderr). Resolves with undefined when they are there, or the reason they are not.
 */
export function ensureKubeTools(): Promise<string | undefined> {
  ensured ??= (async () => {
    const missing = missingTools();
    if (missing.length === 0) return undefined;
    if (process.env.SLUICE_KUBE_NO_BUILD === "1") return `${missing.join(", ")} not built`;
    process.stderr.write(
      `# building ${missing.join(", ")} with scripts/tools/build.sh (slow the first time)\n`,
    );
    // One build at a time across test files running in parallel; the second finds them cached.
    mkdirSync(toolsCache(), { recursive: true });
    const lock = join(toolsCache(), ".kube-build.lock");
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn("flock", [lock, join(ROOT, "scripts/tools/build.sh"), ...missing], {
        stdio: ["ignore", process.stderr, process.stderr],
      });
      child.once("error", () => resolve(-1));
      child.once("exit", (exitCode) => resolve(exitCode));
    });
    const still = missingTools();
    if (code !== 0 || still.length > 0) {
      return `scripts/tools/build.sh ${missing.join(" ")} failed (exit ${code}); missing: ${still.join(", ")}`;
    }
    return undefined;
  })();
  return ensured;
}

/**
 * The `skip` option for a test needing the control plane: false when the binaries are there (built
 * now if need be), else the reason — and under CI=true a failing assertion (.ci/run builds them).
 * A first build outlasts tap's per-file timeout, so the file's timeout is raised while it runs.
 */
export async function skipUnlessControlPlane(t: { setTimeout(n: number): void }): Promise<string | false> {
  if (missingTools().length > 0) t.setTimeout(40 * 60_000);
  const reason = await ensureKubeTools();
  return skipUnlessTool(
    "etcd, kube-apiserver and kube-controller-manager",
    reason === undefined,
    `scripts/tools/build.sh into ${toolsCache()}/bin (${reason})`,
  );
}

/** A 10.x.y (x in 100–199) that no interface or route here uses, for a Service range. */
function freeServicePrefix(): string {
  let used = "";
  try {
    used =
      execFileSync("ip", ["-4", "route"], { encoding: "utf8" }) +
      execFileSync("ip", ["-4", "-o", "addr"], { encoding: "utf8" });
  } catch {}
  for (;;) {
    const prefix = `10.${randomInt(100, 200)}.${randomInt(0, 256)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
}

/** A user the API server knows from its static token file. */
export interface StaticUser {
  name: string;
  token: string;
  groups?: string[];
}

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (deployment, replicaset, endpointslice, GC, namespace, SA). Default true. */
  controllerManager?: boolean;
  /** Users besides the admin, in the token file (to act as someone without system:masters). */
  users?: StaticUser[];
  /** kube-controller-manager --controllers. */
  controllers?: string[];
}

export const DEFAULT_CONTROLLERS = [
  "deployment-controller",
  "replicaset-controller",
  "endpointslice-controller",
  "garbage-collector-controller",
  "namespace-controller",
  // Makes each namespace's "default" ServiceAccount; without it the ServiceAccount admission
  // plugin refuses every pod (scripts/tools/README.md).
  "serviceaccount-controller",
];

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  apiPort: number;
  /** --service-cluster-ip-range, a 10.x.y.0/24 of its own. */
  serviceClusterIPRange: string;
  /** The "kubernetes" Service's ClusterIP (first of the range); the serving certificate names it. */
  kubernetesServiceIP: string;
  /** The API server's CA bundle (PEM): its self-signed serving certificate's chain. */
  caPem: string;
  adminToken: string;
  /** An admin kubeconfig on disk (for kubectl-like tools and the controller-manager). */
  kubeconfigPath: string;
  /** A client-node KubeConfig for the admin. */
  kubeConfig: k8s.KubeConfig;
  /** A KubeConfig for another bearer token (a static user or a ServiceAccount token). */
  kubeConfigFor(token: string, user?: string): k8s.KubeConfig;
  /** Writes a kubeconfig file for a token; returns its path. */
  writeKubeconfig(token: string, user?: string): string;
  /** A token for a ServiceAccount through the TokenRequest API (the SA must exist). */
  serviceAccountToken(namespace: string, name: string, expirationSeconds?: number): Promise<string>;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves once /readyz is ok. */
  restartApiServer(): Promise<void>;
  /** Output of a component so far, for failure messages. */
  logs(component: "etcd" | "kube-apiserver" | "kube-controller-manager"): string;
  /** Milliseconds from start until everything answered. */
  startMs: number;
  dir: string;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  log: string;
}

/** Whether `setpriv --pdeathsig` exists: children then die with the test process even on SIGKILL. */
const haveSetpriv = (() => {
  try {
    execFileSync("setpriv", ["--help"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Spawns `command` so it dies when this process dies (setpriv --pdeathsig KILL where available),
 * appending its output to `log`.
 */
export function spawnTied(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; log: string },
) {
  const [cmd, argv] = haveSetpriv
    ? ["setpriv", ["--pdeathsig", "KILL", "--", command, ...args]]
    : [command, args];
  const child = spawn(cmd, argv, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = createWriteStream(options.log, { flags: "a" });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const exited = new Promise<void>((resolve) => {
    child.once("close", () => {
      out.end();
      resolve();
    });
    child.once("error", () => resolve());
  });
  return { child, exited };
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. With `againMs`, a second
 * SIGTERM after that long: Kubernetes components exit at once on a second signal, and
 * kube-apiserver's graceful shutdown lingers ~15 s after it stopped listening when clients hold
 * watches open.
 */
export async function stopProcess(
  p: { child: ChildProcess; exited: Promise<void> },
  { graceMs = 15_000, againMs }: { graceMs?: number; againMs?: number } = {},
): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill("SIGTERM");
  const timers = [setTimeout(() => p.child.kill("SIGKILL"), graceMs)];
  if (againMs !== undefined) timers.push(setTimeout(() => p.child.kill("SIGTERM"), againMs));
  await p.exited;
  for (const timer of timers) clearTimeout(timer);
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function kubeconfigYaml(server: string, caPem: string, token: string, user: string): string {
  const ca = Buffer.from(caPem).toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
- name: sluice-test
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: ${user}@sluice-test
  context:
    cluster: sluice-test
    user: ${user}
current-context: ${user}@sluice-test
`;
}

/**
 * Starts etcd, kube-apiserver and (unless `controllerManager: false`) kube-controller-manager on
 * free loopback ports and waits until each answers; everything is stopped and removed when `t`
 * ends. Call skipUnlessControlPlane first.
 */
export async function startControlPlane(
  t: Teardown,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "sluice-kube-"));
  const procs: Partial<Record<"etcd" | "kube-apiserver" | "kube-controller-manager", Proc>> = {};
  t.teardown(async () => {
    // Reverse order: the apiserver's graceful shutdown hangs with etcd already gone.
    for (const name of ["kube-controller-manager", "kube-apiserver", "etcd"] as const) {
      const p = procs[name];
      if (p) await stopProcess(p, { againMs: 2000 });
    }
    if (process.env.SLUICE_KUBE_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  });

  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => insecure.close());

  // etcd. Ports are picked free and passed in; a lost race shows as an early exit and is retried.
  let etcdUrl = "";
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = await freePorts(2);
    etcdUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const log = join(dir, "etcd.log");
    const p = spawnTied(
      toolPath("etcd"),
      [
        "--name=sluice-test",
        `--data-dir=${join(dir, "etcd")}`,
        "--unsafe-no-fsync",
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=sluice-test=${peerUrl}`,
        "--log-level=warn",
      ],
      { log },
    );
    procs.etcd = { ...p, log };
    try {
      await waitFor(
        "etcd /health",
        async () => {
          if (p.child.exitCode !== null) throw new Error(`etcd exited: ${tail(log)}`);
          const res = await fetch(`${etcdUrl}/health`);
          return res.ok && ((await res.json()) as { health?: string }).health === "true";
        },
        { timeoutMs: 20_000, everyMs: 50 },
      );
      break;
    } catch (error) {
      await stopProcess(p, { graceMs: 1000 });
      rmSync(join(dir, "etcd"), { recursive: true, force: true });
      if (attempt === 3) throw error;
    }
  }

  // Credentials: a service-account signing key, and a static token file with the admin.
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  const adminToken = randomBytes(24).toString("hex");
  const users: StaticUser[] = [
    { name: "admin", token: adminToken, groups: ["system:masters"] },
    ...(options.users ?? []),
  ];
  writeFileSync(
    join(dir, "tokens.csv"),
    users.map((u) => `${u.token},${u.name},${u.name},"${(u.groups ?? []).join(",")}"\n`).join(""),
  );

  const apiPort = await freePort();
  // A Service range of its own, so the "kubernetes" Service's address (its first IP, which the
  // apiserver's self-signed certificate names) can be given to this control plane's pods by the
  // test node without colliding with another control plane on this machine.
  const servicePrefix = freeServicePrefix();
  const serviceRange = `${servicePrefix}.0/24`;
  const server = `https://127.0.0.1:${apiPort}`;
  const apiLog = join(dir, "kube-apiserver.log");
  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    // Required with a loopback advertise address; the "kubernetes" Service then has no endpoints.
    "--endpoint-reconciler-type=none",
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, "certs")}`,
    `--service-cluster-ip-range=${serviceRange}`,
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${join(dir, "sa.pub")}`,
    `--service-account-signing-key-file=${join(dir, "sa.key")}`,
    "--authorization-mode=RBAC",
    `--token-auth-file=${join(dir, "tokens.csv")}`,
    "--allow-privileged=true",
    // pods/log and exec go to the kubelet at a Node address; the default order tries Hostname
    // first, which nothing resolves here. The test node's InternalIP is on this machine.
    "--kubelet-preferred-address-types=InternalIP,Hostname",
  ];
  const readyz = async () => {
    const res = await fetch(`${server}/readyz`, {
      dispatcher: insecure,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    return res.ok && (await res.text()) === "ok";
  };
  const startApiServer = async () => {
    const p = spawnTied(toolPath("kube-apiserver"), apiArgs, { log: apiLog });
    procs["kube-apiserver"] = { ...p, log: apiLog };
    await waitFor(
      "kube-apiserver /readyz",
      async () => {
        if (p.child.exitCode !== null) throw new Error(`kube-apiserver exited: ${tail(apiLog)}`);
        return readyz();
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
  };
  await startApiServer();

  // The serving certificate the apiserver made for itself; the file holds the chain with its CA.
  const caPem = readFileSync(join(dir, "certs", "apiserver.crt"), "utf8");
  const writeKubeconfig = (token: string, user = "user") => {
    const path = join(dir, `kubeconfig-${user.replace(/[^a-zA-Z0-9_.-]/g, "_")}`);
    writeFileSync(path, kubeconfigYaml(server, caPem, token, user), { mode: 0o600 });
    return path;
  };
  const kubeConfigFor = (token: string, user = "user") => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml(server, caPem, token, user));
    return kc;
  };
  const kubeconfigPath = writeKubeconfig(adminToken, "admin");
  const kubeConfig = kubeConfigFor(adminToken, "admin");

  if (options.controllerManager !== false) {
    const kcmPort = await freePort();
    const log = join(dir, "kube-controller-manager.log");
    const p = spawnTied(
      toolPath("kube-controller-manager"),
      [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        "--authentication-skip-lookup",
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(dir, "kcm-certs")}`,
        "--leader-elect=false",
        `--controllers=${(options.controllers ?? DEFAULT_CONTROLLERS).join(",")}`,
        `--service-account-private-key-file=${join(dir, "sa.key")}`,
      ],
      { log },
    );
    procs["kube-controller-manager"] = { ...p, log };
    await waitFor(
      "kube-controller-manager /healthz",
      async () => {
        if (p.child.exitCode !== null) throw new Error(`kube-controller-manager exited: ${tail(log)}`);
        const res = await fetch(`https://127.0.0.1:${kcmPort}/healthz`, { dispatcher: insecure });
        return res.ok;
      },
      { timeoutMs: 30_000, everyMs: 100 },
    );
  }

  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  return {
    server,
    apiPort,
    serviceClusterIPRange: serviceRange,
    kubernetesServiceIP: `${servicePrefix}.1`,
    caPem,
    adminToken,
    kubeconfigPath,
    kubeConfig,
    kubeConfigFor,
    writeKubeconfig,
    async serviceAccountToken(namespace, name, expirationSeconds = 3600) {
      const res = await core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: { spec: { audiences: [server], expirationSeconds } },
      });
      const token = res.status?.token;
      if (!token) throw new Error(`no token for ${namespace}/${name}`);
      return token;
    },
    async restartApiServer() {
      const p = procs["kube-apiserver"];
      if (p) await stopProcess(p, { againMs: 2000 });
      await startApiServer();
    },
    logs(component) {
      return tail(join(dir, `${component}.log`), 200);
    },
    startMs: Date.now() - started,
    dir,
  };
}
