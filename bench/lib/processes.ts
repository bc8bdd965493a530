// The processes a benchmark run measures, each started the first time a scenario asks for it and
// shared by every scenario after that: the app, nginx and the bare forwarder in front of it, and per
// data path a queue-proxy, an activator and a router following a stand-in for the autoscaler's
// state watch (so the run measures routing, not scaling).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, freePorts } from "../../common/free-port.ts";
import { DATA_PATH_ENV, DATA_PATH_NODE_OPTIONS } from "../../common/prebuilt.ts";
import type { DataPlaneState, RevisionState, ServiceState } from "../../common/state.ts";
import {
  type FakeAutoscaler,
  revisionState,
  serviceState,
  startFakeAutoscaler,
  stateOf,
} from "../../test/helpers/fake-autoscaler.ts";
import { type Child, startAndWait } from "./children.ts";
import { type DataPath, dataPathEnv } from "./data-path.ts";
import { startNginx } from "./nginx.ts";
import { processTree } from "./proc.ts";
import { answers200, portAnswers } from "./ready.ts";

const here = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
export const loopbackUrl = (port: number) => `http://127.0.0.1:${port}/`;
const origin = (port: number) => `http://127.0.0.1:${port}`;

export const QUEUE_PROXY_MAIN = here("../queue-proxy/main.ts");

/** Host headers of the services every router serves ("Host": wrk replaces its own only capitalised). */
export const HOSTS = {
  /** Serve mode straight to the app: the router alone, one hop like nginx. */
  alone: { Host: "alone.default.example.com" },
  /** Serve mode to the queue-proxy, on its Unix socket (as `sluice up` runs pods). */
  serve: { Host: "serve.default.example.com" },
  /** Serve mode to the queue-proxy over loopback TCP (as across pods on Kubernetes). */
  serveTcp: { Host: "serve-tcp.default.example.com" },
  /** Proxy mode: through the activator to the queue-proxy. */
  proxy: { Host: "proxy.default.example.com" },
};

/** A running process the benchmark measures. */
export interface Running {
  pid: number;
  port: number;
  /** A queue-proxy's Unix socket, served beside its port. */
  socket?: string;
}

/**
 * The state a path's router and activator follow; `extra` more services for a large table. The
 * queue-proxy's endpoint carries its socket as the local platform's do; serve-tcp's goes to a
 * queue-proxy of its own over TCP (so that neither one's memory counts the other's connections).
 */
export function benchState(
  appOrigin: string,
  queueProxy: { url: string; socket?: string },
  tcpQueueProxy: { url: string },
  extra = 0,
): DataPlaneState {
  const tcp = { pod: "qp-tcp", url: tcpQueueProxy.url };
  const local = {
    pod: "qp",
    url: queueProxy.url,
    ...(queueProxy.socket === undefined ? {} : { socket: queueProxy.socket }),
  };
  const services: ServiceState[] = [
    serviceState("alone", [{ revision: "alone-00001", percent: 100 }]),
    serviceState("serve", [{ revision: "serve-00001", percent: 100 }]),
    serviceState("serve-tcp", [{ revision: "serve-tcp-00001", percent: 100 }]),
    serviceState("proxy", [{ revision: "proxy-00001", percent: 100 }]),
  ];
  const revisions: RevisionState[] = [
    revisionState("alone-00001", "alone", { endpoints: [{ pod: "app", url: appOrigin }] }),
    revisionState("serve-00001", "serve", { endpoints: [local] }),
    revisionState("serve-tcp-00001", "serve-tcp", { endpoints: [tcp] }),
    revisionState("proxy-00001", "proxy", { mode: "proxy", endpoints: [local] }),
  ];
  for (let i = 0; i < extra; i++) {
    services.push(serviceState(`svc-${i}`, [{ revision: `svc-${i}-00001`, percent: 100 }]));
    revisions.push(revisionState(`svc-${i}-00001`, `svc-${i}`, { mode: "proxy" }));
  }
  return stateOf(services, revisions);
}

/** Environment of a queue-proxy in front of the app on `appPort`, unlimited (containerConcurrency 0). */
export function queueProxyEnv(
  appPort: number,
  servingPort: number,
  adminPort: number,
): Record<string, string> {
  return {
    USER_PORT: String(appPort),
    QUEUE_SERVING_PORT: String(servingPort),
    QUEUE_ADMIN_PORT: String(adminPort),
    QUEUE_METRICS_PORT: "-1",
    CONTAINER_CONCURRENCY: "0",
    SERVING_SERVICE: "serve",
    SERVING_REVISION: "serve-00001",
  };
}

export class BenchProcesses {
  readonly #children: Child[] = [];
  readonly #cleanups: (() => unknown)[] = [];
  readonly #started = new Map<string, Promise<unknown>>();

  /** Starts `key` once; every later call gets the same promise. */
  #once<T>(key: string, start: () => Promise<T>): Promise<T> {
    if (!this.#started.has(key)) this.#started.set(key, start());
    return this.#started.get(key) as Promise<T>;
  }

  #keep(child: Child, port: number): Running {
    this.#children.push(child);
    return { pid: child.pid, port };
  }

  /** The upstream app (apps/hello.ts): every target reaches this one process. */
  app(): Promise<Running> {
    return this.#once("app", async () => {
      const port = await freePort();
      const child = await startAndWait(here("apps/hello.ts"), [], {
        env: { PORT: String(port) },
        ready: portAnswers(port),
      });
      return this.#keep(child, port);
    });
  }

  /** nginx one hop in front of the app (rejects when not installed or not starting). */
  nginx(): Promise<Running> {
    return this.#once("nginx", async () => {
      const nginx = await startNginx((await this.app()).port);
      return this.#keep(nginx, nginx.port);
    });
  }

  /** The bare node:http + undici forwarder in front of the app: the floor for a Node proxy. */
  bareForwarder(): Promise<Running> {
    return this.#once("bare", async () => {
      // The app first: it binds its freePort() before ours is chosen, so the two cannot be one.
      const upstreamPort = (await this.app()).port;
      const port = await freePort();
      const child = await startAndWait(here("apps/bare-forwarder.ts"), [], {
        env: { PORT: String(port), UPSTREAM_PORT: String(upstreamPort) },
        ready: answers200(loopbackUrl(port)),
      });
      return this.#keep(child, port);
    });
  }

  /**
   * sluice's raw HTTP/1.1 path forwarding to the app with nothing of the router (apps/raw-forwarder.ts):
   * the floor for the router on that path.
   */
  rawForwarder(): Promise<Running> {
    return this.#once("raw-floor", async () => {
      const upstreamPort = (await this.app()).port; // bound first, as for bareForwarder
      const port = await freePort();
      // With the router's Node settings, so that the two differ only in what they run.
      const child = await startAndWait(
        process.execPath,
        [...DATA_PATH_NODE_OPTIONS, here("apps/raw-forwarder.ts")],
        {
          env: { ...DATA_PATH_ENV, PORT: String(port), UPSTREAM_PORT: String(upstreamPort) },
          ready: answers200(loopbackUrl(port)),
        },
      );
      return this.#keep(child, port);
    });
  }

  /**
   * The technique with none of sluice's code (apps/llhttp-forwarder.ts), framed by node's llhttp
   * binding or undici's WebAssembly build: the floor under the raw path itself.
   */
  llhttpForwarder(parser: "node" | "wasm"): Promise<Running> {
    return this.#once(`llhttp-floor:${parser}`, async () =>
      this.#startLlhttpForwarder(parser, (await this.app()).port),
    );
  }

  /**
   * Two llhttp forwarders (node's parser) in a chain in front of the app, over loopback TCP: the
   * technique's floor under router → queue-proxy. The back one is llhttpForwarder("node").
   */
  llhttpChain(): Promise<{ front: Running; back: Running }> {
    return this.#once("llhttp-chain", async () => {
      const back = await this.llhttpForwarder("node");
      return { front: await this.#startLlhttpForwarder("node", back.port), back };
    });
  }

  /** One apps/llhttp-forwarder.ts in front of 127.0.0.1:`upstreamPort`. */
  async #startLlhttpForwarder(parser: "node" | "wasm", upstreamPort: number): Promise<Running> {
    const port = await freePort();
    const child = await startAndWait(
      process.execPath,
      [...DATA_PATH_NODE_OPTIONS, here("apps/llhttp-forwarder.ts")],
      {
        env: { ...DATA_PATH_ENV, PORT: String(port), UPSTREAM_PORT: String(upstreamPort), LLHTTP: parser },
        ready: answers200(loopbackUrl(port)),
      },
    );
    return this.#keep(child, port);
  }

  /** A queue-proxy of `path` serving on a Unix socket too (as local pods do), or on TCP alone. */
  queueProxy(path: DataPath, socket: "socket" | "tcp" = "socket"): Promise<Running> {
    return this.#once(`queue-proxy:${path}:${socket}`, async () => {
      const appPort = (await this.app()).port; // bound before our ports are chosen
      const [port, adminPort] = await freePorts(2);
      let socketPath: string | undefined;
      if (socket === "socket") {
        const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
        this.#cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        socketPath = join(dir, "queue-proxy.sock");
      }
      const child = await startAndWait(QUEUE_PROXY_MAIN, [], {
        env: {
          ...queueProxyEnv(appPort, port, adminPort),
          ...(socketPath === undefined ? {} : { QUEUE_SERVING_SOCKET: socketPath }),
          ...dataPathEnv(path),
        },
        ready: answers200(`${origin(adminPort)}/readyz`),
      });
      return { ...this.#keep(child, port), ...(socketPath === undefined ? {} : { socket: socketPath }) };
    });
  }

  /** A stand-in OTLP/HTTP collector that drops what it gets (apps/otlp-sink.ts), for the tracing rows. */
  otlpSink(): Promise<Running> {
    return this.#once("otlp-sink", async () => {
      const port = await freePort();
      const child = await startAndWait(here("apps/otlp-sink.ts"), [], {
        env: { PORT: String(port) },
        ready: portAnswers(port),
      });
      return this.#keep(child, port);
    });
  }

  /** The state watch a path's router and activator follow, `extra` services beyond the three. */
  #autoscaler(path: DataPath, extra: number): Promise<FakeAutoscaler> {
    return this.#once(`autoscaler:${path}:${extra}`, async () => {
      const queueProxy = await this.queueProxy(path);
      // node:http's path connects to the port whatever the endpoint says: one queue-proxy will do.
      const tcpQueueProxy = path === "raw" ? await this.queueProxy(path, "tcp") : queueProxy;
      const state = benchState(
        origin((await this.app()).port),
        { url: origin(queueProxy.port), socket: queueProxy.socket },
        { url: origin(tcpQueueProxy.port) },
        extra,
      );
      return startFakeAutoscaler({ teardown: (fn) => void this.#cleanups.push(fn) }, state);
    });
  }

  activator(path: DataPath): Promise<Running> {
    return this.#once(`activator:${path}`, async () => {
      const autoscaler = await this.#autoscaler(path, 0); // started before our ports are chosen
      const [port, adminPort] = await freePorts(2);
      const child = await startAndWait(here("../activator/main.ts"), [], {
        env: {
          ACTIVATOR_PORT: String(port),
          ACTIVATOR_ADMIN_PORT: String(adminPort),
          AUTOSCALER_URL: autoscaler.url,
          ...dataPathEnv(path),
        },
        ready: answers200(`${origin(adminPort)}/readyz`),
      });
      return this.#keep(child, port);
    });
  }

  /**
   * A router of `path`; with `extra` > 0 one whose table holds that many more services; with
   * `sampled` (0–1) one that traces, sampling that share of requests (each its own trace, as the
   * load sends no traceparent) and exporting to otlpSink().
   */
  router(path: DataPath, extra = 0, sampled?: number): Promise<Running> {
    return this.#once(`router:${path}:${extra}:${sampled ?? "off"}`, async () => {
      if (extra > 0) process.stderr.write(`starting a router with ${extra.toLocaleString("en")} services…\n`);
      // What it reaches is started first, so that none of those takes the ports chosen here.
      const autoscaler = await this.#autoscaler(path, extra);
      const activator = await this.activator(path);
      const tracing = sampled === undefined ? {} : await this.#tracingEnv(sampled);
      const [port, adminPort] = await freePorts(2);
      const child = await startAndWait(here("../router/main.ts"), [], {
        env: {
          ROUTER_PORT: String(port),
          ROUTER_ADMIN_PORT: String(adminPort),
          AUTOSCALER_URL: autoscaler.url,
          ACTIVATOR_URL: origin(activator.port),
          ...dataPathEnv(path),
          ...tracing,
        },
        ready: answers200(`${origin(adminPort)}/readyz`),
        timeoutMs: 60_000,
      });
      return this.#keep(child, port);
    });
  }

  async #tracingEnv(sampled: number): Promise<Record<string, string>> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: origin((await this.otlpSink()).port),
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: String(sampled),
    };
  }

  /** Every process started so far, with its descendants (nginx's workers). */
  pids(): number[] {
    return this.#children.flatMap((child) => processTree(child.pid));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#started.values()); // a start still under way leaves a child too
    await Promise.all(this.#children.map((child) => child.stop()));
    for (const cleanup of this.#cleanups) await cleanup();
  }
}
