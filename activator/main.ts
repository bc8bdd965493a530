import { exitOnConfigError, loadConfigOrExit } from "../common/env.ts";
import { HopAuth } from "../common/hop-auth.ts";
import { createAdminServer } from "../common/http/admin-server.ts";
import { createDataListener } from "../common/http/data-listener.ts";
import { listen } from "../common/http/listen.ts";
import { chooseDataPath } from "../common/http/raw/data-path.ts";
import { createRawUpstream } from "../common/http/raw/upstream-pool.ts";
import type { Tunnel } from "../common/http/tunnel.ts";
import { createAgent } from "../common/http/undici-dispatchers.ts";
import { createLogger } from "../common/log.ts";
import { createRegistry } from "../common/metrics.ts";
import { onShutdown, onUnhandled } from "../common/shutdown.ts";
import { StateWatcher } from "../common/state-watcher.ts";
import { createTracer } from "../common/tracing.ts";
import { loadConfig } from "./config.ts";
import { createActivatorHandler } from "./handler.ts";
import { ActivatorMetrics } from "./metrics.ts";
import { RevisionTable } from "./revision-table.ts";
import { StatsReporter } from "./stats-reporter.ts";
import type { QueueBudget } from "./throttler.ts";
import { createUpgradeHandler } from "./upgrade.ts";

const config = loadConfigOrExit(() => loadConfig());
const log = createLogger("activator", config.logLevel);
const registry = createRegistry("activator");
const tracer = await createTracer("activator").catch(exitOnConfigError);
const budget: QueueBudget = { waiting: 0, max: config.queueDepth };
const hopAuth = new HopAuth(config.hopSecret);
if (!hopAuth.configured)
  log.warn(
    "SLUICE_HOP_SECRET is not set: Sluice-Revision is believed from anyone, and a pod that refused a connection is not probed but sits out a second (queue-proxies believe no unauthenticated probe)",
  );
const reporter = new StatsReporter(config.autoscalerUrl, config.name, log);
const metrics = new ActivatorMetrics(registry, () => ({
  revisions: [...table.entries()].map((entry) => ({
    labels: { service: entry.state.service, namespace: entry.state.namespace, revision: entry.name },
    capacity:
      entry.state.containerConcurrency === 0
        ? -1
        : entry.throttler.readyPods * entry.state.containerConcurrency,
    queued: entry.throttler.waiting,
  })),
  sizes: { tracked: table.sizes().revisions, retired: table.sizes().retired },
}));
const dataPath = chooseDataPath(config.dataPath);
if (dataPath.name === "node" && dataPath.fallback)
  log.warn({ reason: dataPath.fallback }, "raw HTTP/1.1 path unavailable here; using node:http");
// Timeouts are the revision's (the deadline sweep) and the queue-proxy's; none of the pool's own.
const upstream =
  dataPath.name === "raw"
    ? createRawUpstream(dataPath.parser, { keepAliveTimeoutMs: 4000 })
    : createAgent({ pipelining: 1, keepAliveTimeout: 4000, headersTimeout: 0, bodyTimeout: 0 });
const table = new RevisionTable({ upstream, budget, reporter, metrics, log, hopAuth, tracer });
const watcher = new StateWatcher({
  autoscalerUrl: config.autoscalerUrl,
  log,
  onState: (state) => table.update(state),
});

let draining = false;
const isReady = () => table.hasState && !draining;
const handler = createActivatorHandler(table, reporter, hopAuth);
const tunnels = new Set<Tunnel>();
const data = createDataListener({
  component: "activator",
  limits: config.limits,
  log,
  onRequest: handler,
  onUpgrade: createUpgradeHandler(table, reporter, hopAuth, tunnels, config.limits.maxHeaderBytes),
  raw: dataPath.name === "raw" ? dataPath.parser : undefined,
});
const { listener } = data;
const admin = createAdminServer({
  registry,
  isReady,
  limits: config.limits,
  log,
  name: "activator admin port",
  // On the raw path the admin port runs on it too (no node:http server to serve probes).
  raw: dataPath.name === "raw" ? dataPath.parser : undefined,
});

const holding = () =>
  budget.waiting + [...table.withRequests()].reduce((sum, entry) => sum + entry.throttler.inFlight, 0);

async function shutDown(signal: string, exitCode = 0): Promise<void> {
  if (draining) return;
  draining = true;
  log.info({ signal, holding: holding() }, "draining");
  const deadline = Date.now() + config.drainTimeoutMs;
  while (holding() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const entry of table.entries())
    entry.throttler.failWaiting(503, "activator: shutting down", "shutting_down");
  for (const tunnel of tunnels) tunnel.close();
  watcher.stop();
  reporter.stop();
  table.close();
  data.close();
  data.closeAllConnections();
  data.closeH2c();
  admin.close();
  await upstream.close();
  await tracer.shutdown().catch((error: Error) => log.warn(error.message));
  log.info("stopped");
  process.exit(exitCode);
}
onShutdown((reason) => void shutDown(reason));
onUnhandled(log, (reason, exitCode) => void shutDown(reason, exitCode));

try {
  const port = await listen(listener, config.port, config.bindAddress, "activator");
  const adminPort = await listen(admin, config.adminPort, config.bindAddress, "activator admin port");
  watcher.start();
  reporter.start(config.statsIntervalMs);
  log.info({ port, adminPort, autoscaler: config.autoscalerUrl }, "activator listening");
  process.send?.({ type: "listening", port, adminPort, dataPath: dataPath.name });
} catch (error) {
  log.error((error as Error).message);
  process.exit(1);
}
