import { TOKEN_ENV } from "../common/api-token.ts";
import { loadConfigOrExit } from "../common/env.ts";
import { limitServer } from "../common/http/limit-server.ts";
import { listen } from "../common/http/listen.ts";
import { createLogger } from "../common/log.ts";
import { createRegistry } from "../common/metrics.ts";
import { onShutdown, onUnhandled } from "../common/shutdown.ts";
import { createApiServer } from "./api.ts";
import { loadConfig } from "./config.ts";
import { Controller } from "./controller.ts";
import { EventingStatusReader } from "./eventing-status.ts";
import { AutoscalerMetrics } from "./metrics.ts";
import { StatePublisher } from "./state-publisher.ts";

const config = loadConfigOrExit(() => loadConfig());
// Pods inherit this process's environment: the API's credential is not handed to user apps
// (a local app of the same user could still read it from /proc; see docs/autoscaler.md).
delete process.env[TOKEN_ENV];
const log = createLogger("autoscaler", config.logLevel);
const registry = createRegistry("autoscaler");
// The Kubernetes client is large: a local autoscaler never loads it (nor a cluster one the store).
const backend =
  config.platform === "kubernetes"
    ? (await import("./kubernetes-backend.ts")).kubernetesBackend(config, log)
    : await (await import("./local-backend.ts")).localBackend(config, log);
const publisher = new StatePublisher(config.domain, {
  maxWatchers: config.maxStateWatchers,
  log: log.child({ api: "state" }),
});
const controller = new Controller({
  config,
  platform: backend.platform,
  store: backend.store,
  publisher,
  metrics: new AutoscalerMetrics(registry, () => Object.values(publisher.state.services)),
  log,
});
let ready = false;
const server = createApiServer({
  controller,
  publisher,
  registry,
  isReady: () => ready && backend.acting(),
  guard: { token: config.token, allowedHosts: config.allowedHosts },
  maxLogFollowers: config.maxLogFollowers,
  platform: backend.platform,
  eventing: config.eventingAdminUrl
    ? new EventingStatusReader({ adminUrl: config.eventingAdminUrl, token: config.token })
    : undefined,
});
limitServer(server, config.limits, log, "autoscaler");

await backend.start(controller);
const ticker = setInterval(() => {
  if (backend.acting()) void controller.tick();
}, config.tickMs);

let stopping = false;
async function shutDown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  ready = false;
  log.info({ signal }, "stopping: draining pods");
  clearInterval(ticker);
  // A round still running (or one asked for meanwhile) would scale pods the backend is stopping.
  await controller.stop();
  publisher.close();
  server.close();
  server.closeAllConnections();
  await backend.close();
  log.info("stopped");
  process.exit(exitCode);
}
onShutdown((reason) => void shutDown(reason));
onUnhandled(log, (reason, exitCode) => void shutDown(reason, exitCode));

try {
  const port = await listen(server, config.port, config.bindAddress, "autoscaler");
  ready = true;
  log.info(
    { port, platform: config.platform, domain: config.domain, token: config.token !== undefined },
    "autoscaler listening",
  );
  process.send?.({ type: "listening", port });
} catch (error) {
  log.error((error as Error).message);
  await backend.close();
  process.exit(1);
}
