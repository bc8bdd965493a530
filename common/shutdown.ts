/**
 * SIGTERM, SIGINT and the loss of the parent's IPC channel (sluice up or the local platform went
 * away) all mean the same thing: stop gracefully.
 */
export function onShutdown(stop: (reason: string) => void): void {
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("disconnect", () => stop("parent exited"));
}
