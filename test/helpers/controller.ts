// The autoscaler's Controller in the test's own process (no autoscaler process, no HTTP): its
// store in a state dir the test gives (several controllers in turn may share one, as restarts do),
// a StatePublisher for example.com, and a platform that runs nothing unless the test brings one.
import pino, { type Logger } from "pino";
import { Registry } from "prom-client";
import { loadConfig } from "../../autoscaler/config.ts";
import { Controller } from "../../autoscaler/controller.ts";
import { AutoscalerMetrics } from "../../autoscaler/metrics.ts";
import { StatePublisher } from "../../autoscaler/state-publisher.ts";
import type { Platform } from "../../platform/platform.ts";
import { RevisionStore } from "../../serving/revision-store.ts";
import { IdlePlatform } from "./idle-platform.ts";

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ControllerOptions<P extends Platform> {
  /** Environment for loadConfig besides SLUICE_STATE_DIR (AUTOSCALER_RESTORE, …). */
  env?: Record<string, string>;
  /** An IdlePlatform unless given. */
  platform?: P;
  /** Silent unless given. */
  log?: Logger;
}

/** A Controller over `dir`, restored (as the autoscaler starts one); store and publisher closed at teardown. */
export async function startController<P extends Platform = IdlePlatform>(
  t: Teardown,
  dir: string,
  {
    env = {},
    platform = new IdlePlatform() as Platform as P,
    log = pino({ level: "silent" }),
  }: ControllerOptions<P> = {},
) {
  const store = new RevisionStore(dir);
  const publisher = new StatePublisher("example.com");
  t.teardown(() => {
    publisher.close();
    store.close();
  });
  const controller = new Controller({
    config: loadConfig({ SLUICE_STATE_DIR: dir, ...env }),
    platform,
    store,
    publisher,
    metrics: new AutoscalerMetrics(new Registry()),
    log,
  });
  await controller.restore();
  return { controller, publisher, platform, store };
}
