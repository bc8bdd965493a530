import type { Logger } from "./log.ts";

/**
 * SIGTERM, SIGINT and the loss of the parent's IPC channel (sluice up or the local platform went
 * away) all mean the same thing: stop gracefully.
 */
export function onShutdown(stop: (reason: string) => void): void {
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("disconnect", () => stop("parent exited"));
}

/**
 * What escapes every handler. A rejected promise nobody awaited is a bug in one piece of work (a
 * tick, a push), not in the process: it is logged and the process carries on. An uncaught
 * exception may have left state half-changed, so it is logged and the process stops through
 * `stop` (pods still get cleaned up) with exit code 1.
 */
export function onUnhandled(log: Logger, stop: (reason: string, exitCode: number) => void): void {
  process.on("unhandledRejection", (reason) => {
    log.error({ err: reason instanceof Error ? reason : String(reason) }, "unhandled rejection; carrying on");
  });
  process.on("uncaughtException", (error) => {
    log.fatal({ err: error }, "uncaught exception; stopping");
    stop("uncaught exception", 1);
  });
}
