import { createDeferredRegistry } from "../common/deferred-registry.ts";
import { exitOnConfigError, loadConfigOrExit } from "../common/env.ts";
import { HopAuth } from "../common/hop-auth.ts";
import { createAdminServer } from "../common/http/admin-server.ts";
import { listen } from "../common/http/listen.ts";
import { chooseDataPath } from "../common/http/raw/data-path.ts";
import { createRawUpstream } from "../common/http/raw/upstream-pool.ts";
import type { Tunnel } from "../common/http/tunnel.ts";
import { createAgent, createH2cClient, createOnFirstUse } from "../common/http/undici-dispatchers.ts";
import { createLogger } from "../common/log.ts";
import { onShutdown, onUnhandled } from "../common/shutdown.ts";
import { StateWatcher } from "../common/state-watcher.ts";
import { createTracer } from "../common/tracing.ts";
import { loadConfig } from "./config.ts";
import { createRouterHandler, type HandlerDeps } from "./handler.ts";
import { HostKeys } from "./host-keys.ts";
import { RouterMetrics } from "./metrics.ts";
import { RevisionTargets } from "./revision-targets.ts";
import { buildRouteTable, EMPTY_TABLE, type RouteTable } from "./route-table.ts";
import { createRouterServers } from "./servers.ts";
import { createUpgradeHandler } from "./upgrade.ts";

const config = loadConfigOrExit(() => loadConfig());
const log = createLogger("router", config.logLevel);
// prom-client (and its process metrics' timers and GC observer) at the first scrape of /metrics.
const registry = createDeferredRegistry("router");
const tracer = await createTracer("router").catch(exitOnConfigError);

const dataPath = chooseDataPath(config.dataPath);
if (dataPath.name === "node" && dataPath.fallback)
  log.warn({ reason: dataPath.fallback }, "raw HTTP/1.1 path unavailable here; using node:http");
log.info({ dataPath: dataPath.name }, "data path");

// Timeouts are the revision's (the deadline sweep) and the inner hops'; none of undici's own.
const upstreamOptions = { pipelining: 1, keepAliveTimeout: 4000, headersTimeout: 0, bodyTimeout: 0 };
const http1 =
  dataPath.name === "raw"
    ? createRawUpstream(dataPath.parser, { keepAliveTimeoutMs: upstreamOptions.keepAliveTimeout })
    : createAgent(upstreamOptions);
const h2c = createOnFirstUse(() =>
  createAgent({
    ...upstreamOptions,
    factory: (origin, options) => createH2cClient(String(origin), options),
  }),
);
const targets = new RevisionTargets({
  http1,
  h2c,
  activatorOrigin: config.activatorUrl,
  log,
  accessLog: config.accessLog,
  timeoutSlackMs: config.timeoutSlackMs,
  hopAuth: new HopAuth(config.hopSecret),
  tracer,
});

let table: RouteTable = EMPTY_TABLE;
let hasState = false;
const watcher = new StateWatcher({
  autoscalerUrl: config.autoscalerUrl,
  log,
  onState: (state) => {
    // One assignment: a request reads either the old table or the new one.
    table = buildRouteTable(table, state, targets);
    hasState = true;
  },
});

const metrics = new RouterMetrics(
  registry,
  () => targets.counters(),
  () => ({ services: table.services.size, hosts: table.hosts.size, generation: table.generation }),
);
const tunnels = new Set<Tunnel>();
const hostKeys = new HostKeys();
const deps = (proto: "http" | "https"): HandlerDeps => ({
  table: () => table,
  options: { tagHeaderRouting: config.tagHeaderRouting, pathRouting: config.pathRouting },
  metrics,
  proto,
  trustedProxies: config.trustedProxies,
  hostKeys,
});
const servers = createRouterServers(config, log, dataPath.name === "raw" ? dataPath.parser : undefined, {
  forPlain: createRouterHandler(deps("http")),
  forTls: createRouterHandler(deps("https")),
  upgradePlain: createUpgradeHandler(deps("http"), tunnels, config.limits.maxHeaderBytes),
  upgradeTls: createUpgradeHandler(deps("https"), tunnels, config.limits.maxHeaderBytes),
});

let draining = false;
const admin = createAdminServer({
  registry,
  isReady: () => hasState && !draining,
  limits: config.limits,
  log,
  name: "router admin port",
  // On the raw path the admin port runs on it too (no node:http server to serve probes).
  raw: dataPath.name === "raw" ? dataPath.parser : undefined,
});

async function shutDown(signal: string, exitCode = 0): Promise<void> {
  if (draining) return;
  draining = true;
  log.info({ signal, inFlight: targets.inFlight(), tunnels: tunnels.size }, "draining");
  targets.drain();
  servers.stopAccepting();
  const deadline = Date.now() + config.drainTimeoutMs;
  while (targets.inFlight() > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  for (const tunnel of tunnels) tunnel.close();
  watcher.stop();
  targets.close();
  servers.closeAll();
  admin.close();
  await Promise.all([http1.close(), h2c.close()]);
  await tracer.shutdown().catch((error: Error) => log.warn(error.message));
  log.info("stopped");
  process.exit(exitCode);
}
onShutdown((reason) => void shutDown(reason));
onUnhandled(log, (reason, exitCode) => void shutDown(reason, exitCode));

try {
  const port = await listen(servers.plain, config.port, config.bindAddress, "router");
  const tlsPort = servers.tls
    ? await listen(servers.tls, config.tls?.port ?? 0, config.bindAddress, "router TLS")
    : undefined;
  const adminPort = await listen(admin, config.adminPort, config.bindAddress, "router admin port");
  watcher.start();
  log.info(
    { port, tlsPort, adminPort, autoscaler: config.autoscalerUrl, activator: config.activatorUrl },
    "router listening",
  );
  process.send?.({ type: "listening", port, tlsPort, adminPort, dataPath: dataPath.name });
} catch (error) {
  log.error((error as Error).message);
  process.exit(1);
}
