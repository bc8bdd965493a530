import { resolve } from "node:path";
import { TOKEN_ENV } from "../common/api-token.ts";
import { loadConfigOrExit } from "../common/env.ts";
import { limitServer } from "../common/http/limit-server.ts";
import { listen } from "../common/http/listen.ts";
import { createLogger } from "../common/log.ts";
import { createRegistry } from "../common/metrics.ts";
import { onShutdown, onUnhandled } from "../common/shutdown.ts";
import { LocalPlatform } from "../platform/local/local-platform.ts";
import { RevisionStore } from "../serving/revision-store.ts";
import { createApiServer } from "./api.ts";
import { loadConfig } from "./config.ts";
import { Controller } from "./controller.ts";
import { AutoscalerMetrics } from "./metrics.ts";
import { lockStateDir } from "./state-lock.ts";
import { lockRefusal } from "./state-lock-verdict.ts";
import { StatePublisher } from "./state-publisher.ts";

const config = loadConfigOrExit(() => loadConfig());
// Pods inherit this process's environment: the API's credential is not handed to user apps
// (a local app of the same user could still read it from /proc; see docs/autoscaler.md).
delete process.env[TOKEN_ENV];
const log = createLogger("autoscaler");
const registry = createRegistry("autoscaler");
const stateDir = resolve(config.stateDir);
// Before anything in the state directory is read or renewed: a second autoscaler there would
// adopt (or, restoring nothing, kill) the first one's pods and renew the same lease.
const lock = await lockStateDir(stateDir);
if (!lock.held) {
  log.error(lockRefusal(lock.pid, stateDir));
  process.exit(1);
}
process.on("exit", () => lock.release());
const store = (() => {
  try {
    return new RevisionStore(stateDir);
  } catch (error) {
    // A store a newer sluice wrote, or one that cannot be migrated: say why, and change nothing.
    log.error((error as Error).message);
    process.exit(1);
  }
})();
const platform = new LocalPlatform({
  log: log.child({ platform: "local" }),
  stateDir,
  startTimeoutMs: config.podStartTimeoutMs,
  orphanGraceSeconds: config.podOrphanGraceMs / 1000,
});
const publisher = new StatePublisher(config.domain, {
  maxWatchers: config.maxStateWatchers,
  log: log.child({ api: "state" }),
});
const controller = new Controller({
  config,
  platform,
  store,
  publisher,
  metrics: new AutoscalerMetrics(registry),
  log,
});
let ready = false;
const server = createApiServer({
  controller,
  publisher,
  registry,
  isReady: () => ready,
  guard: { token: config.token, allowedHosts: config.allowedHosts },
  maxLogFollowers: config.maxLogFollowers,
});
limitServer(server, config.limits, log, "autoscaler");

await controller.restore();
const ticker = setInterval(() => void controller.tick(), config.tickMs);

let stopping = false;
async function shutDown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  ready = false;
  log.info({ signal }, "stopping: draining pods");
  clearInterval(ticker);
  publisher.close();
  server.close();
  server.closeAllConnections();
  await platform.close();
  store.close();
  log.info("stopped");
  process.exit(exitCode);
}
onShutdown((reason) => void shutDown(reason));
onUnhandled(log, (reason, exitCode) => void shutDown(reason, exitCode));

try {
  const port = await listen(server, config.port, config.bindAddress, "autoscaler");
  ready = true;
  log.info(
    { port, stateDir: config.stateDir, domain: config.domain, token: config.token !== undefined },
    "autoscaler listening",
  );
  process.send?.({ type: "listening", port });
} catch (error) {
  log.error((error as Error).message);
  await platform.close();
  process.exit(1);
}
