import type { Server as NetServer } from "node:net";
import { createDeferredRegistry } from "../common/deferred-registry.ts";
import { exitOnConfigError, loadConfigOrExit } from "../common/env.ts";
import { createAdminServer } from "../common/http/admin-server.ts";
import { capConnections } from "../common/http/connection-cap.ts";
import { forwardingServer, listen, listenOnSocket } from "../common/http/listen.ts";
import { chooseDataPath } from "../common/http/raw/data-path.ts";
import { sendJson } from "../common/http/respond.ts";
import { createLogger } from "../common/log.ts";
import type { PodStats } from "../common/pod-stats.ts";
import { onShutdown, onUnhandled } from "../common/shutdown.ts";
import { createTracer } from "../common/tracing.ts";
import { loadConfig } from "./config.ts";
import { Drainer } from "./drain.ts";
import { DrainHook, WAIT_FOR_DRAIN_PATH, waitForDrainRoute } from "./drain-hook.ts";
import { nodeHttpGet, rawHttpGet } from "./http-probe.ts";
import { probeOnce, ReadinessProber } from "./readiness.ts";
import { createServingSide } from "./server.ts";

const config = loadConfigOrExit(() => loadConfig());
const log = createLogger("queue-proxy", config.logLevel).child({
  revision: config.revision,
  pod: config.pod,
});
const registry = createDeferredRegistry("queue-proxy", { now: config.metricsPort >= 0 });
const tracer = await createTracer("queue-proxy").catch(exitOnConfigError);
const startedAt = Date.now();

const dataPath = chooseDataPath(config.dataPath);
if (dataPath.name === "node" && dataPath.fallback)
  log.warn({ reason: dataPath.fallback }, "raw HTTP/1.1 path unavailable here; using node:http");
// The admin and metrics ports, and an httpGet readiness probe, run on the same path: on the raw
// one, node:http is never loaded.
const raw = dataPath.name === "raw" ? dataPath.parser : undefined;
const httpGet = raw === undefined ? nodeHttpGet : rawHttpGet(raw);

const prober = new ReadinessProber(
  config.readinessProbe,
  (ready) => {
    log.info({ ready }, ready ? "app is ready" : "app stopped answering its readiness probe");
    // A parent with an IPC channel (the local platform) learns readiness without polling.
    process.send?.({ type: "ready", ready });
  },
  (probe) => probeOnce(probe, httpGet),
);
const isReady = () => prober.ready && !serving.ctx.draining;
const serving = createServingSide(config, dataPath, registry, log, isReady, tracer);
const { ctx } = serving;

const stats = (): PodStats => {
  const now = Date.now();
  return {
    revision: config.revision,
    pod: config.pod,
    ...ctx.stats.read(now),
    inFlight: serving.breaker.inFlight,
    queued: serving.breaker.queued,
    uptimeSeconds: (now - startedAt) / 1000,
    ready: isReady(),
  };
};
const drainer = new Drainer({
  quietMs: config.drainQuietMs,
  timeoutMs: config.drainTimeoutMs,
  isIdle: () => serving.breaker.inFlight === 0 && serving.breaker.queued === 0,
  lastArrival: () => ctx.stats.lastArrival,
  // Idle keep-alive connections stay open: closing one while the router or activator writes a
  // request on it (they may not have the state without this pod yet) fails that request. Every
  // response while draining says Connection: close instead (handler.ts), and what is still idle
  // is closed after the drain.
  onDraining: (draining) => {
    ctx.draining = draining;
    log.info({ draining, inFlight: serving.breaker.inFlight, queued: serving.breaker.queued }, "drain");
    if (draining) for (const connection of serving.upgrades) connection.goAway();
  },
});
// The user containers' preStop hook (Kubernetes) starts the same drain as SIGTERM.
const drainHook = new DrainHook(drainer);

const admin = createAdminServer({
  registry,
  isReady,
  whenReady: (timeoutMs, signal) => prober.whenReady(timeoutMs, signal),
  routes: {
    "/stats": (_req, res) => sendJson(res, 200, stats()),
    [WAIT_FOR_DRAIN_PATH]: waitForDrainRoute(drainHook, log),
  },
  limits: config.limits,
  log,
  name: "queue-proxy admin port",
  raw,
});
const metricsOnly =
  config.metricsPort >= 0
    ? createAdminServer({
        registry,
        isReady,
        limits: config.limits,
        log,
        name: "queue-proxy metrics port",
        raw,
      })
    : undefined;

let stopping = false;

async function shutDown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) {
    log.warn({ signal }, "second signal: exiting without waiting for the drain");
    process.exit(1);
  }
  stopping = true;
  log.info({ signal, alreadyDraining: drainer.draining }, "stopping");
  // Joins the drain a preStop hook started, if any: then little or nothing is left to wait for.
  const clean = await drainHook.terminate();
  log.info(
    { clean, inFlight: serving.breaker.inFlight },
    clean ? "drained" : "drain timeout reached; exiting",
  );
  prober.stop();
  servingSocket?.close();
  await serving.close();
  await tracer.shutdown().catch((error: Error) => log.warn(error.message));
  admin.close();
  metricsOnly?.close();
  process.exit(exitCode);
}

/** The Unix socket served beside the port, once it listens. */
let servingSocket: NetServer | undefined;

onShutdown((reason) => void shutDown(reason));
onUnhandled(log, (reason, exitCode) => void shutDown(reason, exitCode));

try {
  const servingPort = await listen(
    serving.listener,
    config.servingPort,
    config.bindAddress,
    "queue-proxy serving port",
  );
  if (config.servingSocket !== undefined) {
    const socketServer = forwardingServer(serving.listener);
    capConnections(socketServer, config.limits.maxConnections, log, "queue-proxy serving socket");
    await listenOnSocket(socketServer, config.servingSocket, "queue-proxy serving socket");
    servingSocket = socketServer;
  }
  const adminPort = await listen(admin, config.adminPort, config.bindAddress, "queue-proxy admin port");
  const metricsPort = metricsOnly
    ? await listen(metricsOnly, config.metricsPort, config.bindAddress, "queue-proxy metrics port")
    : undefined;
  prober.start();
  log.info(
    {
      servingPort,
      servingSocket: config.servingSocket,
      adminPort,
      metricsPort,
      userPort: config.userPort,
      containerConcurrency: config.containerConcurrency,
    },
    "queue-proxy listening",
  );
  // A parent that starts us with an IPC channel (the local platform, tests) learns the ports here.
  process.send?.({ type: "listening", servingPort, adminPort, metricsPort, dataPath: dataPath.name });
} catch (error) {
  log.error((error as Error).message);
  process.exit(1);
}
