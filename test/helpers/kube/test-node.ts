// The kubelet stand-in for tests against a real API server: it registers a Ready Node, binds
// unscheduled pods to itself (there is no scheduler either), runs each pod's containers as local
// processes from the pod spec, probes them, writes pod status, and on deletion stops them within
// the pod's grace period and removes the pod, as the kubelet does.
//
// Pod addresses: each pod gets its own network namespace with a veth pair on a bridge this node
// makes, and a unique address in a 10.x.y.0/24 it picks free on this machine (the bridge holds
// 10.x.y.1, which is the Node's InternalIP). Why not the alternatives:
// - a loopback address per pod (127.0.0.N): the API server refuses it in an EndpointSlice
//   ("may not be in the loopback range (127.0.0.0/8, ::1/128)", and likewise link-local; checked
//   on v1.37.2), so the EndpointSlice controller could not publish the pod;
// - a mapping from a reported fake IP to a loopback port: only the test's own HTTP client would
//   know it, while the router, activator and autoscaler under test connect to pod IPs themselves;
// - one shared namespace: every revision pod's queue-proxy listens on the same ports (8012, 8022,
//   9091), as in a real cluster; they would collide.
// A namespace per pod is what a CNI plugin does, needs only `ip` and root (the tests run as root),
// and keeps every packet on this machine. A container that listens on 127.0.0.1 only (as
// test/fixtures/app.ts does) is made reachable at the pod IP by a small forwarder started inside
// the pod's namespace (loopback-forwarder.ts), since there is no netfilter here for a DNAT rule.
//
// What else a node gives pods lives beside this file: Services at their ClusterIPs and by name
// (cluster-services.ts, service-proxy.ts, pod-hosts.ts), the kubelet's log API the apiserver calls
// for pods/log (kubelet-server.ts, container-logs.ts), and preStop hooks (lifecycle-hooks.ts).
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ROOT } from "../processes.ts";
import { skipUnlessTool } from "../required-tool.ts";
import { haveOpenssl, testCertificate } from "../test-certificate.ts";
import { type ClusterServices, startClusterServices } from "./cluster-services.ts";
import { ContainerLog } from "./container-logs.ts";
import { type ControlPlane, spawnTied, stopProcess } from "./control-plane.ts";
import { type KubeletServer, startKubeletServer } from "./kubelet-server.ts";
import { containerPort as portNumber, runPreStop } from "./lifecycle-hooks.ts";
import { hostsFile, resolvConf, rewrite } from "./pod-hosts.ts";
import { keepWatching } from "./rewatch.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The image name that stands for this checkout: `sluice`, any registry or tag (`ghcr.io/x/sluice:dev`). */
export const SLUICE_IMAGE = /(^|\/)sluice(:[^/@]*)?(@.*)?$/;
/** Where a pod's containers find their ServiceAccount's token, as in a cluster. */
const SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Components the sluice image runs, chosen by its command (the image's links) or first argument. */
export const SLUICE_COMPONENTS = ["router", "activator", "autoscaler", "queue-proxy"];

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether pods can have network namespaces here: root and a working `ip netns`. */
export function skipUnlessPodNetwork(): string | false {
  let found = process.getuid?.() === 0;
  if (found) {
    try {
      ip(["netns", "list"]);
    } catch {
      found = false;
    }
  }
  return skipUnlessTool(
    "root with `ip netns` (iproute2)",
    found,
    "apt-get install iproute2, and run as root",
  );
}

/** Removes namespaces and bridges left by test nodes of processes that no longer exist. */
function removeStale(): void {
  for (const line of ip(["netns", "list"]).split("\n")) {
    const match = /^(sluice-(\d+)-\S+)/.exec(line);
    if (match && !alive(Number(match[2]))) {
      try {
        ip(["netns", "del", match[1]]);
      } catch {}
    }
  }
  for (const line of ip(["-o", "link", "show", "type", "bridge"]).split("\n")) {
    const match = /^\d+: (slb([0-9a-z]+)-\d+)[:@]/.exec(line);
    if (match && !alive(Number.parseInt(match[2], 36))) {
      try {
        ip(["link", "del", match[1]]);
      } catch {}
    }
  }
}

/** A 10.x.y.0/24 no interface or route on this machine uses (nor the Service range 10.0.0.0/24). */
function freeSubnet(): string {
  const used = ip(["-4", "-o", "addr"]) + ip(["-4", "route"]);
  for (;;) {
    const prefix = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
}

type Container = k8s.V1Container;
type ContainerStatus = k8s.V1ContainerStatus;

interface ContainerRun {
  spec: Container;
  proc?: ReturnType<typeof spawnTied>;
  pid?: number;
  /** All output, every instance, as a file (TestNode.logs). */
  log: string;
  /** Output by instance and line, for the kubelet's log API. */
  output: ContainerLog;
  /** The environment it was started with, for exec hooks. */
  env?: Record<string, string>;
  restartCount: number;
  startedAt?: Date;
  ready: boolean;
  probeFailures: number;
  waiting?: { reason: string; message: string };
  terminated?: k8s.V1ContainerStateTerminated;
  lastTerminated?: k8s.V1ContainerStateTerminated;
  restartTimer?: NodeJS.Timeout;
}

interface PodRun {
  namespace: string;
  name: string;
  uid: string;
  ip: string;
  netns: string;
  pod: k8s.V1Pod;
  containers: ContainerRun[];
  forwarders: Map<number, ReturnType<typeof spawnTied>>;
  startTime: Date;
  terminating?: Promise<void>;
  lastStatus?: string;
  probing: boolean;
  /** When each condition last changed status (its lastTransitionTime). */
  conditionSince: Map<string, { status: string; time: Date }>;
  /** The pod's service-account volume (token, ca.crt, namespace), when it mounts one. */
  serviceAccountDir?: string;
  /** Its /etc/hosts and /etc/resolv.conf (pod-hosts.ts), and the hosts text last written. */
  hostsPath: string;
  resolvPath: string;
  hosts?: string;
}

export interface TestPod {
  namespace: string;
  name: string;
  uid: string;
  ip: string;
  /** Process id of each running container, by container name. */
  pids: Record<string, number | undefined>;
}

export interface TestNode {
  name: string;
  /** The node's address on the pod bridge (its InternalIP); pods reach this machine there. */
  hostIP: string;
  /** The port of its kubelet API (containerLogs) on hostIP, over HTTPS; 0 without openssl. */
  kubeletPort: number;
  /** What the node's service proxy forwards "clusterIP:port" to now (undefined: not served). */
  serviceBackends(key: string): { ip: string; port: number }[] | undefined;
  /** The pods this node runs now. */
  pods(): TestPod[];
  /** A container's output so far ("" when unknown). */
  logs(namespace: string, pod: string, container?: string): string;
  /** Stops every pod and removes the node (also done when the test ends). */
  stop(): Promise<void>;
}

let nodeCount = 0;

const debug = (message: string) => {
  if (process.env.SLUICE_TEST_NODE_DEBUG === "1") process.stderr.write(`# test-node: ${message}\n`);
};

/**
 * Registers a Ready Node named `name` and runs the pods bound to it (binding every unscheduled
 * pod to it) until the test ends. Call skipUnlessPodNetwork first.
 */
export async function startTestNode(
  t: Teardown,
  cp: ControlPlane,
  { name = "test-node" }: { name?: string } = {},
): Promise<TestNode> {
  removeStale();
  const n = nodeCount++;
  const id = `${process.pid}-${n}`;
  const bridge = `slb${process.pid.toString(36)}-${n}`;
  const prefix = freeSubnet();
  const hostIP = `${prefix}.1`;
  const dir = mkdtempSync(join(tmpdir(), "sluice-node-"));
  const kc = cp.kubeConfig;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const runs = new Map<string, PodRun>();
  const finished = new Map<string, PodRun>(); // terminated pods' logs, by namespace/name
  let nextIp = 2;
  let stopped = false;

  // Set by the end of start-up; stop() undoes whatever of it was done, also after a failed start.
  let podWatch: { stop(): Promise<void> } | undefined;
  let tick: NodeJS.Timeout | undefined;
  let services: ClusterServices | undefined;
  let kubelet: KubeletServer | undefined;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(tick);
    await podWatch?.stop();
    await services?.stop();
    kubelet?.close();
    // (No pod runs before killPod is defined below.)
    await Promise.all([...runs.values()].map((run) => killPod(run, 2)));
    try {
      ip(["link", "del", bridge]);
    } catch {}
    await core.deleteNode({ name }).catch(() => {});
    if (process.env.SLUICE_KUBE_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);

  ip(["link", "add", bridge, "type", "bridge"]);
  // A MAC of its own, set explicitly: a bridge otherwise takes the lowest MAC of its ports and
  // changes it when that pod's veth goes, and every other pod's ARP entry for the gateway (this
  // address, through which they reach Services and the apiserver) then points nowhere until it
  // expires, some 20-30 s of timeouts after any pod deletion.
  ip([
    "link",
    "set",
    bridge,
    "address",
    `02:${[...randomBytes(5)].map((b) => b.toString(16).padStart(2, "0")).join(":")}`,
  ]);
  ip(["addr", "add", `${hostIP}/24`, "dev", bridge]);
  ip(["link", "set", bridge, "up"]);

  // Pods reach the API server as in a cluster: at the "kubernetes" Service's ClusterIP, port 443
  // (KUBERNETES_SERVICE_HOST/PORT), which the service proxy forwards to the apiserver's loopback
  // port: that Service has no endpoints (--endpoint-reconciler-type=none), so its entry is fixed.
  // The apiserver's certificate names that address, so in-cluster clients verify it with the
  // ca.crt of their service-account volume. Every other Service is served from its EndpointSlices.
  const apiIP = cp.kubernetesServiceIP;
  services = await startClusterServices({
    kubeConfig: kc,
    bridge,
    fixed: new Map([[`${apiIP}:443`, [{ ip: "127.0.0.1", port: cp.apiPort }]]]),
    onNames: (names) => {
      for (const run of runs.values()) writeNames(run, names);
    },
    debug,
  });

  // The kubelet API the apiserver calls for pods/log, on the InternalIP it publishes below.
  if (haveOpenssl()) {
    kubelet = await startKubeletServer({
      host: hostIP,
      tls: testCertificate(t, name),
      find: (namespace, pod, container) => {
        const run =
          [...runs.values()].find((r) => r.namespace === namespace && r.name === pod) ??
          finished.get(`${namespace}/${pod}`);
        if (!run) return `pod "${namespace}/${pod}" not found on node "${name}"`;
        const cr = run.containers.find((c) => c.spec.name === container);
        return cr?.output ?? `container "${container}" not found in pod "${namespace}/${pod}"`;
      },
    });
  } else {
    debug("no openssl: the kubelet API (pods/log) is not served");
  }

  const freeIps: number[] = [];
  const allocateIp = () => {
    if (nextIp <= 254) return `${prefix}.${nextIp++}`;
    const reused = freeIps.shift();
    if (reused === undefined) throw new Error(`test node ${name}: no pod addresses left in ${prefix}.0/24`);
    return `${prefix}.${reused}`;
  };

  const ready = { type: "Ready", status: "True", reason: "KubeletReady", message: "test node is ready" };
  await core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
        },
      },
    },
  });
  await core.patchNodeStatus(
    {
      name,
      body: {
        status: {
          conditions: [{ ...ready, lastHeartbeatTime: new Date(), lastTransitionTime: new Date() }],
          addresses: [
            { type: "InternalIP", address: hostIP },
            { type: "Hostname", address: name },
          ],
          capacity: { cpu: "8", memory: "32Gi", pods: "250" },
          allocatable: { cpu: "8", memory: "32Gi", pods: "250" },
          // As JSON spells it ("Port"): the patch body is sent as given.
          ...(kubelet ? { daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } } } : {}),
        },
      },
    },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );

  // --- environment, commands and probes from the pod spec ---------------------------------------

  const fieldValue = (pod: k8s.V1Pod, run: PodRun, path: string): string => {
    const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (labelOrAnnotation) {
      const map = labelOrAnnotation[1] === "labels" ? pod.metadata?.labels : pod.metadata?.annotations;
      return map?.[labelOrAnnotation[2]] ?? "";
    }
    const values: Record<string, string | undefined> = {
      "metadata.name": pod.metadata?.name,
      "metadata.namespace": pod.metadata?.namespace,
      "metadata.uid": pod.metadata?.uid,
      "spec.nodeName": name,
      "spec.serviceAccountName": pod.spec?.serviceAccountName,
      "status.hostIP": hostIP,
      "status.hostIPs": hostIP,
      "status.podIP": run.ip,
      "status.podIPs": run.ip,
    };
    if (!(path in values)) throw new Error(`fieldRef ${path} is not supported by the test node`);
    return values[path] ?? "";
  };

  const expand = (text: string, env: Record<string, string>) =>
    text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, key?: string) =>
      key === undefined ? "$" : (env[key] ?? whole),
    );

  const readKey = async (
    kind: "configMap" | "secret",
    namespace: string,
    ref: { name?: string; key?: string; optional?: boolean },
  ): Promise<Record<string, string> | undefined> => {
    try {
      if (kind === "configMap") {
        return (await core.readNamespacedConfigMap({ name: ref.name ?? "", namespace })).data ?? {};
      }
      const data = (await core.readNamespacedSecret({ name: ref.name ?? "", namespace })).data ?? {};
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
      );
    } catch (error) {
      if (ref.optional) return undefined;
      throw new Error(`${kind} "${ref.name}" not found: ${(error as Error).message}`);
    }
  };

  const containerEnv = async (pod: k8s.V1Pod, run: PodRun, c: Container): Promise<Record<string, string>> => {
    const env: Record<string, string> = {};
    const namespace = run.namespace;
    for (const from of c.envFrom ?? []) {
      const source = from.configMapRef
        ? await readKey("configMap", namespace, from.configMapRef)
        : from.secretRef
          ? await readKey("secret", namespace, from.secretRef)
          : undefined;
      for (const [k, v] of Object.entries(source ?? {})) env[`${from.prefix ?? ""}${k}`] = v;
    }
    for (const e of c.env ?? []) {
      const from = e.valueFrom;
      if (!from) env[e.name] = expand(e.value ?? "", env);
      else if (from.fieldRef) env[e.name] = fieldValue(pod, run, from.fieldRef.fieldPath);
      else if (from.resourceFieldRef) {
        const [kind, resource] = from.resourceFieldRef.resource.split(".") as ["limits" | "requests", string];
        env[e.name] = String(c.resources?.[kind]?.[resource] ?? "0");
      } else if (from.configMapKeyRef || from.secretKeyRef) {
        const ref = (from.configMapKeyRef ?? from.secretKeyRef)!;
        const data = await readKey(from.configMapKeyRef ? "configMap" : "secret", namespace, ref);
        if (data?.[ref.key] !== undefined) env[e.name] = data[ref.key];
        else if (!ref.optional) throw new Error(`key "${ref.key}" not found in "${ref.name}"`);
      }
    }
    return env;
  };

  /** The command line for a container, or undefined when its image cannot run here. */
  const commandLine = (c: Container, env: Record<string, string>): string[] | undefined => {
    const args = (c.args ?? []).map((a) => expand(a, env));
    const command = (c.command ?? []).map((a) => expand(a, env));
    if (SLUICE_IMAGE.test(c.image ?? "")) {
      // The image's entry points: `command: [queue-proxy]` (its links on PATH, as the Deployment
      // builder uses them) or the component as the first argument.
      const [first, ...rest] = command.length > 0 ? [...command, ...args] : args;
      if (SLUICE_COMPONENTS.includes(first)) return ["node", join(ROOT, first, "main.ts"), ...rest];
    }
    if (command.length > 0) return [...command, ...args];
    return undefined;
  };

  /**
   * Starts `argv` as a process of the pod: in its network namespace, with its /etc/hosts,
   * /etc/resolv.conf and service-account volume bind-mounted in the mount namespace that
   * `ip netns exec` makes for the process (private to it: nothing changes on the host but the
   * empty service-account mount point).
   */
  const spawnInPod = (run: PodRun, command: string[], env: Record<string, string>, log: string) => {
    const argv = [...command];
    if (argv[0] === "node") argv[0] = process.execPath;
    // (A bind mount needs its mount point: a host without /etc/resolv.conf keeps its resolver.)
    const mounts = (
      [
        [run.hostsPath, "/etc/hosts"],
        [run.resolvPath, "/etc/resolv.conf"],
      ] as [string, string][]
    ).filter(([, target]) => existsSync(target));
    if (run.serviceAccountDir) mounts.push([run.serviceAccountDir, SERVICE_ACCOUNT_PATH]);
    const script = `${mounts.map((_, i) => `mount --bind "$${2 * i + 1}" "$${2 * i + 2}" && `).join("")}shift ${2 * mounts.length} && exec "$@"`;
    return spawnTied(
      "ip",
      ["netns", "exec", run.netns, "sh", "-c", script, "pod-start", ...mounts.flat(), ...argv],
      { env, cwd: ROOT, log },
    );
  };

  /** Writes the pod's hosts file when the Service names it lists changed. */
  const writeNames = (run: PodRun, names = services?.names() ?? new Map<string, string>()) => {
    const text = hostsFile(run, names);
    if (text === run.hosts) return;
    rewrite(run.hostsPath, text);
    run.hosts = text;
  };

  const startContainer = async (run: PodRun, cr: ContainerRun) => {
    const c = cr.spec;
    let env: Record<string, string>;
    try {
      env = {
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        HOME: process.env.HOME ?? "/root",
        HOSTNAME: run.name,
        KUBERNETES_SERVICE_HOST: apiIP,
        KUBERNETES_SERVICE_PORT: "443",
        KUBERNETES_SERVICE_PORT_HTTPS: "443",
        KUBERNETES_PORT: `tcp://${apiIP}:443`,
        ...(await containerEnv(run.pod, run, c)),
      };
    } catch (error) {
      cr.waiting = { reason: "CreateContainerConfigError", message: (error as Error).message };
      return;
    }
    const argv = commandLine(c, env);
    if (!argv) {
      cr.waiting = {
        reason: "ErrImagePull",
        message:
          `image "${c.image}" cannot be pulled: the test node runs a container's command, or the sluice ` +
          `image (args ${SLUICE_COMPONENTS.join("|")}) from this checkout`,
      };
      return;
    }
    cr.env = env;
    const proc = spawnInPod(run, argv, env, cr.log);
    cr.output.attach(proc.child.stdout, proc.child.stderr);
    cr.proc = proc;
    cr.pid = proc.child.pid;
    cr.startedAt = new Date();
    cr.waiting = undefined;
    cr.terminated = undefined;
    cr.ready = false;
    cr.probeFailures = 0;
    proc.child.once("exit", (code, signal) => {
      if (cr.proc !== proc) return;
      cr.proc = undefined;
      cr.ready = false;
      const exitCode = code ?? (signal ? 128 + (signal === "SIGKILL" ? 9 : 15) : 1);
      const terminated: k8s.V1ContainerStateTerminated = {
        exitCode,
        reason: exitCode === 0 ? "Completed" : "Error",
        startedAt: cr.startedAt,
        finishedAt: new Date(),
      };
      if (run.terminating || stopped) {
        cr.terminated = terminated;
        return;
      }
      const policy = run.pod.spec?.restartPolicy ?? "Always";
      if (policy === "Never" || (policy === "OnFailure" && exitCode === 0)) {
        cr.terminated = terminated;
        return;
      }
      // Crashed: report it as the kubelet does while it backs off, then start it again.
      cr.lastTerminated = terminated;
      cr.restartCount++;
      const backoffMs = Math.min(1000 * 2 ** (cr.restartCount - 1), 20_000);
      cr.waiting = {
        reason: "CrashLoopBackOff",
        message: `back-off ${backoffMs / 1000}s restarting failed container=${c.name} pod=${run.name}_${run.namespace}(${run.uid})`,
      };
      cr.restartTimer = setTimeout(() => {
        if (!run.terminating && !stopped) void startContainer(run, cr);
      }, backoffMs);
    });
  };

  const probe = (run: PodRun, cr: ContainerRun): Promise<boolean> => {
    const p = cr.spec.readinessProbe;
    if (!p) return Promise.resolve(true);
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    if (p.httpGet) {
      const port = portNumber(cr.spec, p.httpGet.port as number | string);
      const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      return new Promise((resolve) => {
        const req = request(
          {
            host: p.httpGet?.host || run.ip,
            port,
            path: p.httpGet?.path ?? "/",
            headers: { "user-agent": "kube-probe/1.37", ...headers },
            timeout: timeoutMs,
          },
          (res) => {
            res.resume();
            resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
          },
        );
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(false));
        req.end();
      });
    }
    if (p.tcpSocket) {
      const port = portNumber(cr.spec, p.tcpSocket.port as number | string);
      return new Promise((resolve) => {
        const socket = connect({ host: p.tcpSocket?.host || run.ip, port: port ?? 0, timeout: timeoutMs });
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
        socket.once("timeout", () => {
          socket.destroy();
          resolve(false);
        });
      });
    }
    return Promise.resolve(true); // exec and grpc probes: not run by the test node, taken as passing
  };

  /** Ports a container listens on in the pod's namespace, by local address (/proc/<pid>/net/tcp). */
  const listeners = (pid: number): Map<number, Set<string>> => {
    const result = new Map<number, Set<string>>();
    for (const table of ["tcp", "tcp6"]) {
      let text = "";
      try {
        text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 4 || fields[3] !== "0A") continue;
        const [addr, portHex] = fields[1].split(":");
        const port = Number.parseInt(portHex, 16);
        const set = result.get(port) ?? new Set();
        set.add(addr);
        result.set(port, set);
      }
    }
    return result;
  };

  /** Starts a forwarder at the pod IP for each declared or probed port bound to 127.0.0.1 only. */
  const forwardLoopbackPorts = (run: PodRun) => {
    const pid = run.containers.find((cr) => cr.proc)?.pid;
    if (pid === undefined) return;
    const listening = listeners(pid);
    const wanted = new Set<number>();
    for (const cr of run.containers) {
      for (const p of cr.spec.ports ?? []) wanted.add(p.containerPort);
      // Probed ports, and a preStop hook's: the node calls both at the pod IP.
      for (const action of [
        cr.spec.readinessProbe?.httpGet ?? cr.spec.readinessProbe?.tcpSocket,
        cr.spec.lifecycle?.preStop?.httpGet,
      ]) {
        const port = portNumber(cr.spec, action?.port as number | string | undefined);
        if (port !== undefined) wanted.add(port);
      }
    }
    for (const port of wanted) {
      const addrs = listening.get(port);
      if (!addrs || run.forwarders.has(port)) continue;
      // 0100007F is 127.0.0.1 in /proc's byte order; anything else (0.0.0.0, ::, the pod IP) is reachable.
      if ([...addrs].every((a) => a === "0100007F" || a === "00000000000000000000000001000000")) {
        run.forwarders.set(
          port,
          spawnTied(
            "ip",
            [
              "netns",
              "exec",
              run.netns,
              process.execPath,
              join(ROOT, "test/helpers/kube/loopback-forwarder.ts"),
              run.ip,
              String(port),
            ],
            { log: join(dir, `${run.netns}-forwarder.log`) },
          ),
        );
      }
    }
  };

  // --- status ---------------------------------------------------------------------------------

  const containerStatus = (cr: ContainerRun): ContainerStatus => {
    const state: k8s.V1ContainerState = cr.proc
      ? { running: { startedAt: cr.startedAt } }
      : cr.terminated
        ? { terminated: cr.terminated }
        : { waiting: cr.waiting ?? { reason: "ContainerCreating", message: "" } };
    return {
      name: cr.spec.name,
      image: cr.spec.image ?? "",
      imageID: "",
      containerID: cr.pid ? `sluice-test://${cr.pid}` : undefined,
      ready: cr.ready,
      started: cr.proc !== undefined,
      restartCount: cr.restartCount,
      state,
      lastState: cr.lastTerminated ? { terminated: cr.lastTerminated } : {},
    };
  };

  const podStatus = (run: PodRun): k8s.V1PodStatus => {
    const statuses = run.containers.map(containerStatus);
    const allReady = run.containers.every((cr) => cr.ready) && !run.terminating;
    const allTerminated = run.containers.every((cr) => cr.terminated);
    const phase = allTerminated
      ? run.containers.every((cr) => cr.terminated?.exitCode === 0)
        ? "Succeeded"
        : "Failed"
      : run.containers.some((cr) => cr.startedAt)
        ? "Running"
        : "Pending";
    const condition = (type: string, ok: boolean, reason?: string) => ({
      type,
      status: ok ? "True" : "False",
      reason: ok ? undefined : reason,
    });
    return {
      phase,
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: run.ip,
      podIPs: [{ ip: run.ip }],
      startTime: run.startTime,
      conditions: [
        condition("PodScheduled", true),
        condition("Initialized", true),
        condition("ContainersReady", allReady, "ContainersNotReady"),
        condition("Ready", allReady, "ContainersNotReady"),
      ],
      containerStatuses: statuses,
    };
  };

  /** Writes the pod's status when it changed since the last successful write. */
  const syncStatus = async (run: PodRun) => {
    const status = podStatus(run);
    const key = JSON.stringify(status);
    if (key === run.lastStatus) return;
    const now = new Date();
    for (const c of status.conditions ?? []) {
      const since = run.conditionSince.get(c.type);
      if (since?.status !== c.status) run.conditionSince.set(c.type, { status: c.status, time: now });
      c.lastTransitionTime = run.conditionSince.get(c.type)?.time;
    }
    try {
      await core.patchNamespacedPodStatus(
        { name: run.name, namespace: run.namespace, body: { status } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
      );
      run.lastStatus = key;
    } catch {
      // The API server is away or the pod is gone: the next tick tries again.
    }
  };

  // --- pod lifecycle --------------------------------------------------------------------------

  const startPod = async (pod: k8s.V1Pod) => {
    const uid = pod.metadata?.uid ?? "";
    const podIp = allocateIp();
    const netns = `sluice-${id}-${podIp.split(".")[3]}`;
    const veth = `slv${process.pid.toString(36)}-${n}-${podIp.split(".")[3]}`.slice(0, 15);
    ip(["netns", "add", netns]);
    ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    ip(["link", "set", veth, "master", bridge, "up"]);
    ip(["-n", netns, "addr", "add", `${podIp}/24`, "dev", "eth0"]);
    ip(["-n", netns, "link", "set", "eth0", "up"]);
    ip(["-n", netns, "link", "set", "lo", "up"]);
    ip(["-n", netns, "route", "add", "default", "via", hostIP]);
    const run: PodRun = {
      namespace: pod.metadata?.namespace ?? "default",
      name: pod.metadata?.name ?? "",
      uid,
      ip: podIp,
      netns,
      pod,
      containers: (pod.spec?.containers ?? []).map((spec) => ({
        spec,
        log: join(dir, `${pod.metadata?.namespace}_${pod.metadata?.name}_${spec.name}.log`),
        output: new ContainerLog(),
        restartCount: 0,
        ready: false,
        probeFailures: 0,
      })),
      forwarders: new Map(),
      startTime: new Date(),
      probing: false,
      conditionSince: new Map(),
      hostsPath: join(dir, `${netns}.hosts`),
      resolvPath: join(dir, `${netns}.resolv.conf`),
    };
    writeNames(run);
    writeFileSync(run.resolvPath, resolvConf(run.namespace));
    runs.set(uid, run);
    if (pod.spec?.automountServiceAccountToken !== false) {
      try {
        run.serviceAccountDir = await serviceAccountVolume(run, pod.spec?.serviceAccountName ?? "default");
      } catch (error) {
        for (const cr of run.containers) {
          cr.waiting = { reason: "CreateContainerConfigError", message: (error as Error).message };
        }
        await syncStatus(run);
        return;
      }
    }
    for (const cr of run.containers) await startContainer(run, cr);
    await syncStatus(run);
  };

  /** Writes a pod's service-account volume: a token bound to the pod, the CA and the namespace. */
  const serviceAccountVolume = async (run: PodRun, serviceAccount: string): Promise<string> => {
    const request = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: run.namespace,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: run.name, uid: run.uid },
        },
      },
    });
    const volume = join(dir, "serviceaccount", run.uid);
    mkdirSync(volume, { recursive: true });
    writeFileSync(join(volume, "token"), request.status?.token ?? "");
    writeFileSync(join(volume, "ca.crt"), cp.caPem);
    writeFileSync(join(volume, "namespace"), run.namespace);
    mkdirSync(SERVICE_ACCOUNT_PATH, { recursive: true });
    return volume;
  };

  const removeNetwork = (run: PodRun) => {
    try {
      ip(["netns", "del", run.netns]);
    } catch {}
    rmSync(run.hostsPath, { force: true });
    rmSync(run.resolvPath, { force: true });
    freeIps.push(Number(run.ip.split(".")[3]));
  };

  /**
   * Stops a running container as the kubelet does: its preStop hook first (with `hooks`), then
   * SIGTERM, then SIGKILL once the grace period is over. The hook's time comes out of the period,
   * but after a hook the container still gets at least the kubelet's minimum of 2 seconds.
   */
  const stopContainer = async (run: PodRun, cr: ContainerRun, graceSeconds: number, hooks: boolean) => {
    const proc = cr.proc;
    if (!proc) return;
    let graceMs = graceSeconds * 1000;
    if (hooks && graceMs > 0 && cr.spec.lifecycle?.preStop) {
      const started = Date.now();
      const failed = await runPreStop(
        {
          podIP: run.ip,
          container: cr.spec,
          // Its output is not the container's (the kubelet keeps it only in a failure event).
          exec: (command) =>
            spawnInPod(run, command, cr.env ?? {}, join(dir, `${run.netns}-${cr.spec.name}-prestop.log`)),
        },
        graceMs,
      );
      debug(`preStop of ${run.namespace}/${run.name}/${cr.spec.name}: ${failed ?? "done"}`);
      graceMs = Math.max(graceMs - (Date.now() - started), 2000);
    }
    await stopProcess(proc, { graceMs });
  };

  /**
   * Stops every container (running preStop hooks first with `hooks`; SIGKILL after `graceSeconds`),
   * then frees the pod's network.
   */
  const killPod = async (run: PodRun, graceSeconds: number, hooks = false) => {
    for (const cr of run.containers) clearTimeout(cr.restartTimer);
    await Promise.all(run.containers.map((cr) => stopContainer(run, cr, graceSeconds, hooks)));
    await Promise.all([...run.forwarders.values()].map((f) => stopProcess(f, { graceMs: 1000 })));
    removeNetwork(run);
    runs.delete(run.uid);
    finished.set(`${run.namespace}/${run.name}`, run);
  };

  const terminatePod = (run: PodRun, pod: k8s.V1Pod) => {
    run.terminating ??= (async () => {
      const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      debug(`terminating ${run.namespace}/${run.name} (grace ${grace}s)`);
      await syncStatus(run);
      await killPod(run, grace, true);
      debug(`stopped ${run.namespace}/${run.name}`);
      try {
        // The kubelet's final delete: the pod object goes once its containers are gone.
        await core.deleteNamespacedPod({
          name: run.name,
          namespace: run.namespace,
          gracePeriodSeconds: 0,
          // The API server reads options from the body when there is one, not from the query.
          body: { gracePeriodSeconds: 0, preconditions: { uid: run.uid } },
        });
        debug(`deleted ${run.namespace}/${run.name}`);
      } catch (error) {
        debug(`final delete of ${run.namespace}/${run.name}: ${(error as Error).message}`);
      }
    })();
  };

  const bind = async (pod: k8s.V1Pod) => {
    try {
      await core.createNamespacedPodBinding({
        name: pod.metadata?.name ?? "",
        namespace: pod.metadata?.namespace ?? "default",
        body: {
          metadata: { name: pod.metadata?.name, uid: pod.metadata?.uid },
          target: { apiVersion: "v1", kind: "Node", name },
        },
      });
    } catch {
      // Already bound (409) or gone: the next event says what it is now.
    }
  };

  const reconcilePod = async (pod: k8s.V1Pod) => {
    if (stopped) return;
    const uid = pod.metadata?.uid ?? "";
    const run = runs.get(uid);
    debug(
      `pod ${pod.metadata?.namespace}/${pod.metadata?.name} node=${pod.spec?.nodeName ?? ""} ` +
        `deleting=${pod.metadata?.deletionTimestamp !== undefined} running=${run !== undefined}`,
    );
    if (!pod.spec?.nodeName) {
      if (!pod.metadata?.deletionTimestamp) await bind(pod);
      return;
    }
    if (pod.spec.nodeName !== name) return;
    if (pod.metadata?.deletionTimestamp) {
      if (run) terminatePod(run, pod);
      else {
        // Nothing runs for it here (never started, or already stopped): finish the deletion.
        try {
          await core.deleteNamespacedPod({
            name: pod.metadata.name ?? "",
            namespace: pod.metadata.namespace ?? "default",
            gracePeriodSeconds: 0,
            body: { gracePeriodSeconds: 0, preconditions: { uid } },
          });
        } catch {}
      }
      return;
    }
    if (run) {
      run.pod = pod;
      return;
    }
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    await startPod(pod);
  };

  // Pods are handled one event at a time, in order.
  let queue = Promise.resolve();
  const enqueue = (pod: k8s.V1Pod) => {
    queue = queue
      .then(() => reconcilePod(pod))
      .catch((error: Error) => {
        // Not thrown at the test (the queue goes on), but said: a pod it left unstarted is why.
        process.stderr.write(
          `# test-node ${name}: pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${error.message}\n`,
        );
      });
  };

  const pods = k8s.makeInformer(kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
  pods.on("add", enqueue);
  pods.on("update", enqueue);
  pods.on("delete", (pod) => {
    const run = runs.get(pod.metadata?.uid ?? "");
    if (run) terminatePod(run, { ...pod, metadata: { ...pod.metadata, deletionGracePeriodSeconds: 0 } });
  });
  // The API server went away (a restart test): list and watch again.
  podWatch = await keepWatching(pods, (error) => debug(`pod watch ended: ${error}`));

  // Readiness probes and forwarders, then status, for every running pod — level-triggered.
  tick = setInterval(() => {
    for (const run of runs.values()) {
      if (run.probing || run.terminating) continue;
      run.probing = true;
      void (async () => {
        forwardLoopbackPorts(run);
        for (const cr of run.containers) {
          if (!cr.proc) continue;
          const ok = await probe(run, cr);
          const threshold = cr.spec.readinessProbe?.failureThreshold ?? 3;
          if (ok) {
            cr.ready = true;
            cr.probeFailures = 0;
          } else if (!cr.ready || ++cr.probeFailures >= threshold) {
            cr.ready = false;
          }
        }
        if (!run.terminating) await syncStatus(run);
      })().finally(() => {
        run.probing = false;
      });
    }
  }, 100);

  return {
    name,
    hostIP,
    kubeletPort: kubelet?.port ?? 0,
    serviceBackends: (key) => services?.backends(key),
    pods: () =>
      [...runs.values()].map((run) => ({
        namespace: run.namespace,
        name: run.name,
        uid: run.uid,
        ip: run.ip,
        pids: Object.fromEntries(run.containers.map((cr) => [cr.spec.name, cr.proc ? cr.pid : undefined])),
      })),
    logs(namespace, pod, container) {
      const run =
        [...runs.values()].find((r) => r.namespace === namespace && r.name === pod) ??
        finished.get(`${namespace}/${pod}`);
      const cr = run?.containers.find((c) => container === undefined || c.spec.name === container);
      if (!cr) return "";
      try {
        return readFileSync(cr.log, "utf8");
      } catch {
        return "";
      }
    },
    stop,
  };
}
