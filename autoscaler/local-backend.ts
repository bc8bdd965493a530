import { resolve } from "node:path";
import type { Logger } from "../common/log.ts";
import { LocalPlatform } from "../platform/local/local-platform.ts";
import { RevisionStore } from "../serving/revision-store.ts";
import type { Backend } from "./backend.ts";
import type { AutoscalerConfig } from "./config.ts";
import { lockStateDir } from "./state-lock.ts";
import { lockRefusal } from "./state-lock-verdict.ts";

/** Pods as local processes, services and history in the state directory's store. */
export async function localBackend(config: AutoscalerConfig, log: Logger): Promise<Backend> {
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
    capacity: config.localCapacity,
  });
  const { maxPods, maxStarting, machine, podMemoryMb } = config.localCapacity;
  log.info(
    { maxPods, maxStarting, cores: machine.cores, freeMemoryMb: machine.availableMemoryMb, podMemoryMb },
    `local platform: up to ${maxPods} pods, ${maxStarting} starting at once; more wait as pending`,
  );
  return {
    platform,
    store,
    start: (controller) => controller.restore(),
    acting: () => true,
    async close() {
      await platform.close();
      store.close();
    },
  };
}
