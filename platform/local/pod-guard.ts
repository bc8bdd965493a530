// Preloaded into each local pod's queue-proxy (`node --import`), so a pod never leaves its app
// running alone, even when no platform is there to stop it:
// - when the queue-proxy exits (drained, crashed), it takes the app's process group down too (a
//   platform that is alive does the same right after; one SIGKILLed mid-stop no longer can);
// - a pod outlives the autoscaler so that a restarted one can adopt it, but once the platform's
//   lease has lapsed for the orphan grace (sluice was killed and not restarted, or its state dir
//   was removed) the pod stops itself: the app first, then the queue-proxy, which drains and exits.
import { leaseExpired, leaseRenewedAt } from "./lease.ts";
import { signalProcess, waitGone } from "./process-identity.ts";

const CHECK_MS = 1000;
const APP_GRACE_MS = 5000;

const leasePath = process.env.SLUICE_POD_LEASE;
const graceMs = Number(process.env.SLUICE_POD_ORPHAN_GRACE_SECONDS ?? "60") * 1000;
const app = {
  pid: Number(process.env.SLUICE_POD_APP_PID),
  start: process.env.SLUICE_POD_APP_START || undefined,
};

if (app.pid > 0) process.on("exit", () => signalProcess(app, "SIGTERM", true));

if (leasePath && Number.isFinite(graceMs) && app.pid > 0) {
  const timer = setInterval(
    () => {
      if (!leaseExpired(leaseRenewedAt(leasePath), Date.now(), graceMs)) return;
      clearInterval(timer);
      console.error(
        JSON.stringify({ level: 50, msg: "the platform's lease has lapsed: stopping this orphaned pod" }),
      );
      void (async () => {
        signalProcess(app, "SIGTERM", true);
        if (!(await waitGone(app, APP_GRACE_MS))) signalProcess(app, "SIGKILL", true);
        process.kill(process.pid, "SIGTERM");
      })();
    },
    Math.min(CHECK_MS, graceMs / 2),
  );
  timer.unref();
}
